import { drizzle } from "drizzle-orm/node-postgres";
import type pg from "pg";
import { getPool, type Db } from "./client";
import * as schema from "./schema";

/** pg-boss's executor for the same transaction, so a job is queued only if the rows commit. */
export type SqlExecutor = { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> };

// One drizzle handle per pooled connection: building one reads the whole schema's relations,
// which every transaction (a webhook batch, a file batch) paid for again.
const handles = new WeakMap<pg.PoolClient, Db>();
function drizzleFor(client: pg.PoolClient): Db {
  let db = handles.get(client);
  if (!db) {
    db = drizzle(client, { schema }) as unknown as Db;
    handles.set(client, db);
  }
  return db;
}

/**
 * Runs `fn` in one transaction on one pooled connection, giving it both a drizzle handle and
 * a pg-boss executor bound to that connection.
 */
export async function withTransaction<T>(
  fn: (tx: Db, executor: SqlExecutor, client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await getPool().connect();
  // The pool stops listening for a client's errors while it is checked out: a connection lost
  // between two statements (PostgreSQL restarted) would be an uncaught 'error' ending the
  // process. Heard here, it fails the next statement, and the client is discarded on release.
  let lost: Error | undefined;
  const onError = (err: Error) => {
    lost ??= err;
  };
  client.on("error", onError);
  try {
    await client.query("begin");
    const tx = drizzleFor(client);
    const executor: SqlExecutor = { executeSql: (text, values) => client.query(text, values as unknown[]) };
    const result = await fn(tx, executor, client);
    await client.query("commit");
    return result;
  } catch (err) {
    await client.query("rollback").catch(() => {});
    throw err;
  } finally {
    client.off("error", onError);
    client.release(lost);
  }
}
