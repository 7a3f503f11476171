import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded";

export function dataDir(): string {
  return path.resolve(process.env.DATA_DIR || "./.data");
}

/** While `npm start` runs, the embedded database's URL is here for the CLI and tests. */
function urlFile(): string {
  return path.join(dataDir(), "embedded-database-url");
}

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The database to use: DATABASE_URL when set; else the embedded one that a running
 * `npm start` serves; else a new embedded one under DATA_DIR (published for others when
 * `publish` is set).
 */
export async function resolveDatabase(
  options: { publish?: boolean } = {},
): Promise<{ url: string; embedded: EmbeddedPostgres | null }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, embedded: null };
  if (existsSync(urlFile())) {
    const url = readFileSync(urlFile(), "utf8").trim();
    if (await reachable(url)) return { url, embedded: null };
  }
  const embedded = await startEmbeddedPostgres(dataDir());
  if (options.publish) writeFileSync(urlFile(), embedded.url, { mode: 0o600 });
  return {
    url: embedded.url,
    embedded: {
      url: embedded.url,
      stop: async () => {
        if (options.publish) rmSync(urlFile(), { force: true });
        await embedded.stop();
      },
    },
  };
}
