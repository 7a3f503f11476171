import assert from "node:assert/strict";
import { after, test } from "node:test";
import { getPool } from "@/lib/db/client";
import { withTransaction } from "@/lib/db/transaction";
import { closeAll } from "./helpers";

after(() => closeAll());

// A pooled client has no error listener of the pool's while it is checked out: a connection
// lost between two statements (PostgreSQL restarted or crashed) would be an uncaught 'error'
// that ends the worker, leaving its jobs to no one.
test(
  "a connection lost between two statements of a transaction fails that transaction, not the process",
  {
    timeout: 30_000,
    // The embedded database (PGlite) serves every client from one backend: none can be terminated alone.
    skip:
      process.env.TEST_DATABASE_KIND === "embedded" ? "no backend to terminate alone on the embedded database" : false,
  },
  async () => {
    await assert.rejects(
      withTransaction(async (_tx, _executor, client) => {
        const { rows } = await client.query<{ pid: number }>("select pg_backend_pid() as pid");
        const closed = new Promise((resolve) =>
          (client as unknown as { connection: { stream: NodeJS.EventEmitter } }).connection.stream.once(
            "close",
            resolve,
          ),
        );
        await getPool().query("select pg_terminate_backend($1)", [rows[0]!.pid]);
        await closed;
        await client.query("select 1");
      }),
    );
    const { rows } = await getPool().query<{ one: number }>("select 1 as one");
    assert.equal(rows[0]!.one, 1, "the pool serves a new connection");
  },
);
