import { drizzle } from "drizzle-orm/node-postgres";
import type pg from "pg";
import { getPool, type Db } from "./client";
import * as schema from "./schema";

/** pg-boss's executor for the same transaction, so a job is queued only if the rows commit. */
export type SqlExecutor = { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> };

/**
 * Runs `fn` in one transaction on one pooled connection, giving it both a drizzle handle and
 * a pg-boss executor bound to that connection.
 */
export async function withTransaction<T>(fn: (tx: Db, executor: SqlExecutor, client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await getPool().connect();
  try {
    await client.query("begin");
    const tx = drizzle(client, { schema }) as unknown as Db;
    const executor: SqlExecutor = { executeSql: (text, values) => client.query(text, values as unknown[]) };
    const result = await fn(tx, executor, client);
    await client.query("commit");
    return result;
  } catch (err) {
    await client.query("rollback").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
