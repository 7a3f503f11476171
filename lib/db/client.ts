/**
 * The one way to get the database. A function that stands alone takes no database parameter:
 * it uses this process's singleton, `getDb()`. A function takes `db: DbOrTx` (`tx` when it is
 * always a transaction) only when a caller passes a transaction that it must join.
 * Transactions are opened by `withTransaction` (./transaction.ts), and nothing outside lib/db
 * takes a pool client itself. A hand-written statement is drizzle's `sql` template run by
 * `getDb().execute`, or by `queryRows` when its rows need the driver's own parsing;
 * `getPool().query` is for what drizzle cannot express.
 */
import type { SQL } from "drizzle-orm";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { PgDialect } from "drizzle-orm/pg-core";
import pg from "pg";
import * as schema from "./schema";
import { errorField, logger } from "@/lib/log";

export type Db = NodePgDatabase<typeof schema>;
export type DbOrTx = Db | Parameters<Parameters<Db["transaction"]>[0]>[0];

// int8 columns (counts, sizes) fit in a JS number for everything this app stores.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

type Handle = { pool: pg.Pool; db: Db };
const globalForDb = globalThis as unknown as { dataConnectorDb?: Handle };

export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) {
    throw new Error(
      "DATABASE_URL is not set. Start the app with `npm start` (it starts an embedded PostgreSQL when DATABASE_URL is unset) or set DATABASE_URL to a PostgreSQL server.",
    );
  }
  return url;
}

function open(): Handle {
  const pool = new pg.Pool({
    connectionString: databaseUrl(),
    max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on("error", (err) => logger.error({ error: errorField(err) }, "idle database client error"));
  return { pool, db: drizzle(pool, { schema }) };
}

function handle(): Handle {
  globalForDb.dataConnectorDb ??= open();
  return globalForDb.dataConnectorDb;
}

export function getDb(): Db {
  return handle().db;
}

export function getPool(): pg.Pool {
  return handle().pool;
}

const dialect = new PgDialect();

/**
 * Runs a drizzle `sql` statement on the pool and returns its rows as the driver parses them
 * (timestamps as Date), for hand-written statements whose rows are not mapped through drizzle's
 * columns (drizzle's `execute` leaves timestamps as text).
 */
export async function queryRows<T extends pg.QueryResultRow>(statement: SQL): Promise<T[]> {
  const query = dialect.sqlToQuery(statement);
  return (await getPool().query<T>(query.sql, query.params)).rows;
}

export async function closeDb(): Promise<void> {
  const h = globalForDb.dataConnectorDb;
  globalForDb.dataConnectorDb = undefined;
  await h?.pool.end();
}
