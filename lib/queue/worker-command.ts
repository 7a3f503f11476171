/**
 * How the worker process is started (by `npm start`, `npm run worker` and the benchmarks).
 * Node 24 sizes the young generation from the machine's memory, and on a large machine an idle
 * worker then holds ~250 MB; a 16 MB semi-space keeps it near 170 MB at no measurable cost.
 */
export const WORKER_NODE_ARGS = ["--max-semi-space-size=16", "--import", "tsx", "worker/index.ts"];
