import type { Readable } from "node:stream";
import { openSync, writeSync } from "node:fs";

let capture: number | null | undefined;

/**
 * The file that `npm test` (scripts/test.ts) names in TEST_CHILD_OUTPUT and scans for leaked
 * secrets after the run, opened for appending; null when the tests run some other way.
 */
function captureFd(): number | null {
  if (capture === undefined) {
    const file = process.env.TEST_CHILD_OUTPUT;
    capture = file ? openSync(file, "a") : null;
  }
  return capture;
}

/** stdio for the output of a spawned process (a worker, a web server) that the test does not read. */
export function childOutput(): number | "ignore" {
  return captureFd() ?? "ignore";
}

/** Copies what a test reads from a spawned process's pipe to the scanned file too. */
export function captureOutput(stream: Readable | null): void {
  const fd = captureFd();
  if (fd === null || !stream) return;
  stream.on("data", (chunk: Buffer) => writeSync(fd, chunk));
}
