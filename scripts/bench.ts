import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BenchResult, Metric } from "../bench/results";

// `npm run bench`: runs every `bench:*` script of package.json one after the other (BENCH_ONLY
// and BENCH_SKIP take comma-separated names without the prefix; the others' last outputs are
// reported as they were kept), then writes bench/REPORT.md
// with each benchmark's figures and bench/report.svg, a chart of throughput and latency.
// A benchmark that writes JSON (bench/results.ts, BENCH_RESULTS_DIR) is charted from it; the
// figures of one that only prints are read from its output (files/s, req/s, MB/s, pNN ms).
const root = process.cwd();
const outDir = path.join(root, "bench", "out");
const resultsDir = path.join(outDir, "results");
const list = (v?: string) =>
  v
    ? v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : [];

type Run = { name: string; seconds: number; code: number; output: string; result: BenchResult };

function run(script: string): Promise<{ code: number; output: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", "--silent", script], {
      cwd: root,
      env: { ...process.env, BENCH_RESULTS_DIR: resultsDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const take = (stream: NodeJS.WriteStream) => (d: Buffer) => {
      stream.write(d);
      output += d.toString();
    };
    child.stdout.on("data", take(process.stdout));
    child.stderr.on("data", take(process.stderr));
    child.on("exit", (code) => resolve({ code: code ?? 1, output, seconds: (Date.now() - started) / 1000 }));
  });
}

/** Figures of a benchmark that only prints: throughput, percentiles and wall times found on each line. */
export function figuresFromOutput(name: string, output: string): Metric[] {
  const metrics: Metric[] = [];
  const patterns: [RegExp, (m: RegExpMatchArray) => Metric | null][] = [
    [
      /([\d,]+(?:\.\d+)?)\s*(files\/s|req\/s|MB\/s)/g,
      (m) => ({ label: m[2]!, value: Number(m[1]!.replace(/,/g, "")), unit: m[2]!, kind: "throughput" }),
    ],
    [
      /\b(p\d{2})\s+([\d,]+(?:\.\d+)?)\s*ms/g,
      (m) => ({ label: m[1]!, value: Number(m[2]!.replace(/,/g, "")), unit: "ms", kind: "latency" }),
    ],
    [/(?<![\w/.])(\d+(?:\.\d+)?) s\b/g, (m) => ({ label: "wall time", value: Number(m[1]), unit: "s", kind: "time" })],
  ];
  for (const raw of output.split("\n")) {
    const line = raw
      .replace(/\x1b\[[0-9;]*m/g, "")
      .replace(/^\[[^\]]+\]\s*/, "")
      .trim();
    if (!line || line.startsWith(">") || /^(error|warn)/i.test(line)) continue;
    const head = /^[\w.-]+/.exec(line)?.[0] ?? name;
    for (const [pattern, make] of patterns) {
      for (const m of line.matchAll(pattern)) {
        const metric = make(m);
        if (!metric) continue;
        // Named by the words just before the figure (after the last comma, semicolon or parenthesis).
        const before = line
          .slice(0, m.index)
          .split(/[,;(]/)
          .pop()!
          .replace(/(\s*(median of \d+|[\d.,]+\s*(files\/s|MB\/s|req\/s|ms|s))\b[:\s]*)+$/, "")
          .replace(/[:\s)]+$/, "")
          .trim();
        const context = before.startsWith(head) ? before : `${head}: ${before}`;
        metrics.push({ ...metric, label: `${context} ${metric.label}`.replace(/\s+/g, " ").slice(0, 90) });
      }
    }
  }
  return metrics;
}

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Horizontal bars, one panel per unit (each scaled to its own largest value). */
export function chart(runs: Run[]): string {
  const panels = new Map<string, { label: string; value: number }[]>();
  for (const r of runs) {
    for (const m of r.result.metrics) {
      if (m.kind !== "throughput" && m.kind !== "latency") continue;
      const key = `${m.kind === "latency" ? "Latency" : "Throughput"} (${m.unit})`;
      if (!panels.has(key)) panels.set(key, []);
      panels.get(key)!.push({ label: `${r.name}: ${m.label}`, value: m.value });
    }
  }
  const width = 980;
  const labelWidth = 520;
  const bar = 18;
  let y = 40;
  const parts: string[] = [];
  const palette = { Throughput: "#2f7ed8", Latency: "#e4572e" };
  for (const [title, rows] of panels) {
    parts.push(`<text x="10" y="${y}" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
    y += 12;
    const max = Math.max(...rows.map((r) => r.value), 1);
    const color = title.startsWith("Latency") ? palette.Latency : palette.Throughput;
    for (const row of rows) {
      const w = Math.max(1, ((width - labelWidth - 90) * row.value) / max);
      parts.push(`<text x="10" y="${y + 13}" font-size="11">${escapeXml(row.label.slice(0, 85))}</text>`);
      parts.push(`<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${bar - 4}" fill="${color}"/>`);
      parts.push(
        `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 12}" font-size="11">${row.value.toLocaleString("en-US")}</text>`,
      );
      y += bar;
    }
    y += 24;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="17" font-weight="bold">npm run bench — throughput and latency</text>
${parts.join("\n")}
</svg>
`;
}

async function main() {
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> };
  const only = list(process.env.BENCH_ONLY);
  const skip = list(process.env.BENCH_SKIP);
  const all = Object.keys(pkg.scripts)
    .filter((s) => s.startsWith("bench:"))
    .map((s) => s.slice("bench:".length))
    .sort();
  // BENCH_REPORT_ONLY=1 writes the report again from the outputs kept by the last runs; a run
  // limited by BENCH_ONLY / BENCH_SKIP runs those and reports the others' kept outputs.
  const reportOnly = !!process.env.BENCH_REPORT_ONLY;
  const names = reportOnly ? [] : all.filter((n) => (only.length === 0 || only.includes(n)) && !skip.includes(n));
  mkdirSync(resultsDir, { recursive: true });
  for (const name of names) {
    for (const ext of ["log", "json"]) rmSync(path.join(resultsDir, `${name}.${ext}`), { force: true });
  }
  const runs: Run[] = [];
  for (const name of all) {
    const logFile = path.join(resultsDir, `${name}.log`);
    const runNow = names.includes(name);
    if (!runNow && !existsSync(logFile)) continue;
    if (runNow) console.log(`\n[bench] ===== bench:${name} =====`);
    const { code, output, seconds } = runNow
      ? await run(`bench:${name}`)
      : (JSON.parse(readFileSync(logFile, "utf8")) as { code: number; output: string; seconds: number });
    if (runNow) writeFileSync(logFile, JSON.stringify({ code, output, seconds }));
    const file = path.join(resultsDir, `${name}.json`);
    const result: BenchResult = existsSync(file)
      ? (JSON.parse(readFileSync(file, "utf8")) as BenchResult)
      : { bench: name, title: `bench:${name}`, metrics: figuresFromOutput(name, output) };
    runs.push({ name, seconds, code, output, result });
  }
  writeFileSync(path.join(root, "bench", "report.svg"), chart(runs));
  const env = [
    "BENCH_DATABASE_URL",
    "BENCH_FILES",
    "BENCH_TARGETS",
    "BENCH_GIT_FILES",
    "BENCH_PUSHES",
    "BENCH_ROUNDS",
    "BENCH_WEBHOOK_SECONDS",
    "BENCH_LIST_SECONDS",
    "BENCH_SCALE_FILES",
    "BENCH_SCALE_SOURCES",
    "BENCH_ONLY",
    "BENCH_SKIP",
  ]
    .filter((k) => process.env[k])
    .map((k) => `${k}=${process.env[k]!.replace(/\/\/[^@/]*@/, "//")}`);
  const md: string[] = [
    "# Benchmark report",
    "",
    `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), Node ${process.version}${env.length ? `, ${env.join(" ")}` : ""}.`,
    "The machine is shared: read ratios measured side by side in one run rather than absolute figures.",
    "",
    "![throughput and latency](report.svg)",
    "",
  ];
  for (const r of runs) {
    md.push(
      `## bench:${r.name}${r.code === 0 ? "" : ` (exit code ${r.code})`}`,
      "",
      `${r.result.title}. Ran ${r.seconds.toFixed(0)} s.`,
      "",
    );
    if (r.result.metrics.length) {
      md.push("| figure | value |", "|---|---|");
      for (const m of r.result.metrics) md.push(`| ${m.label} | ${m.value.toLocaleString("en-US")} ${m.unit} |`);
      md.push("");
    }
    for (const note of r.result.notes ?? []) md.push(`- ${note}`);
    const tail = r.output
      .trim()
      .split("\n")
      .filter((l) => !/^\[(worker|queue|db|sync)\]/.test(l))
      .slice(-15);
    md.push("", "<details><summary>output (last lines)</summary>", "", "```", ...tail, "```", "", "</details>", "");
  }
  writeFileSync(path.join(root, "bench", "REPORT.md"), md.join("\n"));
  console.log(`\n[bench] wrote bench/REPORT.md and bench/report.svg (${runs.length} benchmarks)`);
  process.exit(runs.every((r) => r.code === 0) ? 0 : 1);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
