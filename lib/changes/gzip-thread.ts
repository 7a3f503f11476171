import { Worker } from "node:worker_threads";
import { gzipSync, type ZlibOptions } from "node:zlib";
import { ContentArena } from "./content-arena";

// A sync's worker reads, hashes and writes on one thread, which its file reads keep busy: a
// batch's contents are compressed on a thread of their own meanwhile. One thread, one batch
// at a time (the next waits in its queue). Contents go as ranges of shared memory (see
// ContentArena), read there by the thread; the compressed ones come back as one buffer.
const THREAD = `
const { parentPort } = require("node:worker_threads");
const { gzipSync } = require("node:zlib");
parentPort.on("message", ({ id, slabs, parts, options }) => {
  const gzipped = parts.map((p) =>
    gzipSync(p.bytes ?? new Uint8Array(slabs[p.slab], p.offset, p.length), options),
  );
  const out = new Uint8Array(gzipped.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of gzipped) {
    out.set(p, at);
    at += p.length;
  }
  parentPort.postMessage({ id, blob: out, lengths: gzipped.map((p) => p.length) }, [out.buffer]);
});`;

/** Below this many bytes in all, the round trip to the thread costs more than it saves. */
const THREAD_MIN_BYTES = 64 * 1024;

type Reply = { id: number; blob: Uint8Array; lengths: number[] };
type Waiting = { resolve: (reply: Reply) => void; reject: (err: Error) => void };

let thread: Worker | null = null;
const waiting = new Map<number, Waiting>();
let nextId = 0;

function compressor(): Worker {
  if (thread) return thread;
  // Plain JavaScript: the thread needs none of the process's loaders.
  // A small heap: collected often, its batches' buffers are freed as soon as they are sent.
  const started = new Worker(THREAD, {
    eval: true,
    execArgv: [],
    resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
  });
  started.on("message", (reply: Reply) => {
    waiting.get(reply.id)?.resolve(reply);
    waiting.delete(reply.id);
    if (waiting.size === 0) started.unref();
  });
  const fail = (err: Error) => {
    if (thread === started) thread = null;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  started.on("error", fail);
  started.on("exit", (code) => fail(new Error(`the compression thread exited (code ${code})`)));
  // The thread keeps the process alive only while it has work (unref after the listeners,
  // which would ref it again).
  started.unref();
  thread = started;
  return started;
}

/**
 * Each of `parts` gzipped with `options`, in order: on the compression thread when they are
 * large enough to be worth it, else (or when the thread fails) here.
 */
export async function gzipAll(parts: Buffer[], options: ZlibOptions): Promise<Buffer[]> {
  const here = () => parts.map((p) => gzipSync(p, options));
  if (parts.reduce((sum, p) => sum + p.length, 0) < THREAD_MIN_BYTES) return here();
  // Parts not yet in shared memory are copied there; one larger than a slab goes as a copy.
  const strays = new ContentArena();
  const slabs: SharedArrayBuffer[] = [];
  const ranges = parts.map((part) => {
    const shared = part.buffer instanceof SharedArrayBuffer ? part : strays.hold(part);
    if (!(shared.buffer instanceof SharedArrayBuffer)) return { bytes: shared };
    let slab = slabs.indexOf(shared.buffer);
    if (slab < 0) slab = slabs.push(shared.buffer) - 1;
    return { slab, offset: shared.byteOffset, length: shared.length };
  });
  const id = nextId++;
  let reply: Reply;
  try {
    reply = await new Promise<Reply>((resolve, reject) => {
      const worker = compressor();
      waiting.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, slabs, parts: ranges, options });
    });
  } catch {
    waiting.delete(id);
    return here();
  } finally {
    strays.release();
  }
  const out = Buffer.from(reply.blob.buffer, reply.blob.byteOffset, reply.blob.byteLength);
  let at = 0;
  return reply.lengths.map((length) => out.subarray(at, (at += length)));
}
