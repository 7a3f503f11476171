import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export type EmbeddedPostgres = { url: string; stop: () => Promise<void> };

/**
 * Starts PGlite with its data under `dataDir` and serves it on a loopback port, so that pg,
 * drizzle and pg-boss in every process of the app speak to it as to a PostgreSQL server.
 * `dataDir` null keeps the database in memory (tests).
 */
export async function startEmbeddedPostgres(dataDir: string | null): Promise<EmbeddedPostgres> {
  let dbPath = "memory://";
  if (dataDir) {
    dbPath = path.join(path.resolve(dataDir), "pgdata");
    mkdirSync(dbPath, { recursive: true });
  }
  const db = await PGlite.create(dbPath);
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 200 });
  await server.start();
  const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
