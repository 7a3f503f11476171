import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { PGlite } from "@electric-sql/pglite";
import { errorField, logger } from "@/lib/log";

// PGlite is one PostgreSQL backend: one session, one unnamed statement, one transaction at a
// time. To serve many client connections (the web server's pool, the worker's, pg-boss's)
// this server runs each client's messages in whole units that the protocol defines:
//   - a simple Query, or an extended-protocol sequence up to its Sync (Parse, Bind, Describe,
//     Execute, Sync): never interleaved with another client's messages, so one client's
//     Parse cannot replace another's unnamed statement between its Parse and its Execute;
//   - a transaction: once a client's unit leaves the backend inside a transaction block (or
//     waiting after a Flush), only that client's units run until it commits, rolls back or
//     disconnects (then the server rolls back for it).
// pglite-socket's own server queues message by message, which breaks under concurrent
// extended-protocol clients ("unnamed prepared statement does not exist").

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;

/** Messages after which the client waits for the backend's answer. */
const UNIT_END = new Set(["S", "Q", "H", "X", "c", "f"]);

type Unit = { client: Client; messages: Buffer[]; last: string };

class Client {
  /** Bytes received and not yet parsed, in arrival order: joined once a whole message is in. */
  received: Buffer[] = [];
  receivedBytes = 0;
  /** Bytes the next message needs before parsing is worth trying again. */
  needed = 0;
  started = false;
  closed = false;
  pending: Buffer[] = [];
  constructor(readonly socket: Socket) {}
}

export type EmbeddedServer = { port: number; stop(): Promise<void> };

export async function serveEmbedded(db: PGlite, host = "127.0.0.1"): Promise<EmbeddedServer> {
  await db.waitReady;
  const ready: Unit[] = [];
  const clients = new Set<Client>();
  let owner: Client | null = null;
  let running = false;

  const nextUnit = (): Unit | undefined => {
    const index = owner ? ready.findIndex((u) => u.client === owner) : 0;
    return index >= 0 ? ready.splice(index, 1)[0] : undefined;
  };

  const releaseOwner = async (client: Client) => {
    if (owner !== client) return;
    // A client that vanished inside a transaction: roll it back for it, as PostgreSQL does.
    // Only then may another client run, or its statements would land in that transaction.
    if (db.isInTransaction()) await db.exec("rollback").catch(() => {});
    owner = null;
  };

  const run = async (unit: Unit) => {
    const { client } = unit;
    // The backend hands its output over message by message: sent as one write per unit.
    const output: Buffer[] = [];
    await db.runExclusive(async () => {
      for (let i = 0; i < unit.messages.length; i++) {
        await db.execProtocolRawStream(unit.messages[i]!, {
          syncToFs: i === unit.messages.length - 1,
          onRawData: (data) => {
            if (data.length > 0) output.push(Buffer.from(data));
          },
        });
      }
    });
    if (output.length > 0 && !client.closed && client.socket.writable)
      client.socket.write(output.length === 1 ? output[0]! : Buffer.concat(output));
    owner = db.isInTransaction() || unit.last === "H" ? client : null;
  };

  const pump = async () => {
    if (running) return;
    running = true;
    for (let unit = nextUnit(); unit; unit = nextUnit()) {
      if (unit.client.closed) continue;
      try {
        await run(unit);
      } catch (err) {
        logger.error({ error: errorField(err) }, "embedded database protocol error");
        close(unit.client);
      }
      if (unit.client.closed) await releaseOwner(unit.client);
    }
    running = false;
  };

  const close = (client: Client) => {
    if (client.closed) return;
    client.closed = true;
    clients.delete(client);
    for (let i = ready.length - 1; i >= 0; i--) if (ready[i]!.client === client) ready.splice(i, 1);
    if (!client.socket.destroyed) client.socket.destroy();
    if (owner === client && !running) void releaseOwner(client).then(pump);
  };

  const onData = (client: Client, chunk: Buffer) => {
    // A large message (a batch's Bind) arrives in many chunks: joined once, when it is whole.
    client.received.push(chunk);
    client.receivedBytes += chunk.length;
    if (client.receivedBytes < client.needed) return;
    let buf = client.received.length === 1 ? client.received[0]! : Buffer.concat(client.received);
    const keep = (needed: number) => {
      client.received = buf.length ? [buf] : [];
      client.receivedBytes = buf.length;
      client.needed = needed;
    };
    for (;;) {
      if (!client.started) {
        if (buf.length < 8) return keep(8);
        const length = buf.readInt32BE(0);
        if (buf.length < length) return keep(length);
        const code = buf.readInt32BE(4);
        const message = buf.subarray(0, length);
        buf = buf.subarray(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          client.socket.write("N");
          continue;
        }
        if (code === CANCEL_REQUEST) return close(client);
        if (code !== PROTOCOL_3) return close(client);
        client.started = true;
        ready.push({ client, messages: [message], last: "startup" });
        continue;
      }
      if (buf.length < 5) {
        keep(5);
        break;
      }
      const length = 1 + buf.readInt32BE(1);
      if (buf.length < length) {
        keep(length);
        break;
      }
      const type = String.fromCharCode(buf[0]!);
      const message = buf.subarray(0, length);
      buf = buf.subarray(length);
      if (type === "X") return close(client);
      client.pending.push(message);
      if (UNIT_END.has(type)) {
        ready.push({ client, messages: client.pending, last: type });
        client.pending = [];
      }
    }
    void pump();
  };

  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    const client = new Client(socket);
    clients.add(client);
    socket.on("data", (chunk) => onData(client, chunk));
    socket.on("error", () => close(client));
    socket.on("close", () => close(client));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      for (const client of [...clients]) close(client);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
