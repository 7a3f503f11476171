// Counts the SQL statements a process sends (by text, numbers folded) and their time; written on exit.
import pg from "pg";
import { writeFileSync } from "node:fs";
const counts = new Map();
const orig = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, values, cb) {
  const text = typeof config === "string" ? config : config?.text;
  if (!text) return orig.call(this, config, values, cb);
  const key = text
    .replace(/\s+/g, " ")
    .replace(/\$\d+/g, "$")
    .replace(/'[^']*'/g, "'?'")
    .replace(/\b\d+\b/g, "N")
    .slice(0, 160);
  const start = performance.now();
  const res = orig.call(this, config, values, cb);
  const done = () => {
    const e = counts.get(key) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += performance.now() - start;
    counts.set(key, e);
  };
  if (res && typeof res.then === "function") res.then(done, done);
  else done();
  return res;
};
process.on("exit", () => {
  const rows = [...counts].sort((a, b) => b[1].n - a[1].n);
  const total = rows.reduce((s, [, e]) => s + e.n, 0);
  writeFileSync(
    `${process.env.COUNT_STATEMENTS_OUT ?? "/tmp/statements"}-${process.pid}.txt`,
    `total ${total}\n` +
      rows.map(([k, e]) => `${String(e.n).padStart(7)} ${e.ms.toFixed(0).padStart(7)}ms  ${k}`).join("\n") +
      "\n",
  );
});
