import { mkdirSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { serveEmbedded } from "./embedded-server";

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
  const server = await serveEmbedded(db);
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${server.port}/postgres?sslmode=disable`,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
