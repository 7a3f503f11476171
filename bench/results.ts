import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

export type Metric = {
  label: string;
  value: number;
  unit: string;
  kind: "throughput" | "latency" | "time" | "count" | "ratio";
};
export type BenchResult = { bench: string; title: string; metrics: Metric[]; notes?: string[] };

/**
 * `npm run bench` gives each benchmark BENCH_RESULTS_DIR; a benchmark that writes its figures
 * there as JSON gets them into bench/REPORT.md and its chart. Run alone, it only prints.
 */
export function writeResults(result: BenchResult): void {
  const dir = process.env.BENCH_RESULTS_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${result.bench}.json`), JSON.stringify(result, null, 2));
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
