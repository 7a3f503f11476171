/**
 * How the worker process is started (by `npm start`, `npm run worker` and the benchmarks).
 * Node 24 sizes the young generation from the machine's memory, so on a large machine an idle
 * worker holds far more than it needs; a 16 MB semi-space bounds it without slowing syncs.
 */
export const WORKER_NODE_ARGS = ["--max-semi-space-size=16", "--import", "tsx", "worker/index.ts"];
