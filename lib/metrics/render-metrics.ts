import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from "prom-client";
import { sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { localWorkerIds } from "@/lib/workers/heartbeat";
import { LIVE_WORKER_SECONDS } from "@/lib/workers/list-live-workers";
import { processMetrics } from "./counters";

/** Upper bounds (seconds) of dc_sync_duration_seconds's buckets. */
const DURATION_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 4 * 3600];

type Snapshot = MetricObjectWithValues<MetricValue<string>>[];

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const labels = (l: Record<string, string>) => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
};

function family(name: string, type: "counter" | "gauge" | "histogram", help: string, lines: string[]): string {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines].join("\n");
}

/** What the database itself knows: jobs, their durations, queues, sources and live workers. */
async function databaseMetrics(): Promise<string[]> {
  const db = getDb();
  const [jobs, durations, queue, sourceCounts, workerCount] = await Promise.all([
    db.execute<{ type: string; trigger: string; status: string; n: number }>(
      sql`select type, trigger, status, count(*)::int as n from sync_jobs group by 1, 2, 3 order by 1, 2, 3`,
    ),
    db.execute<{ type: string; le: string; n: number; sum: number }>(sql`
      select type, b.le::text as le, count(*) filter (where d <= b.le)::int as n, coalesce(sum(d), 0)::float8 as sum
      from (select type, extract(epoch from completed_at - started_at)::float8 as d
            from sync_jobs where status = 'completed' and started_at is not null and completed_at is not null) j
      cross join unnest(${`{${[...DURATION_BUCKETS, "Infinity"].join(",")}}`}::float8[]) as b(le)
      group by 1, b.le order by 1, b.le`),
    db.execute<{ name: string; state: string; n: number }>(
      sql`select name, state::text as state, count(*)::int as n from pgboss.job group by 1, 2 order by 1, 2`,
    ),
    db.execute<{ type: string; status: string; n: number }>(
      sql`select type, status, count(*)::int as n from sources group by 1, 2 order by 1, 2`,
    ),
    db.execute<{ n: number }>(
      sql`select count(*)::int as n from workers where last_seen_at > now() - make_interval(secs => ${LIVE_WORKER_SECONDS})`,
    ),
  ]);
  const histogram: string[] = [];
  for (const row of durations.rows) {
    const le = row.le === "Infinity" ? "+Inf" : String(Number(row.le));
    histogram.push(`dc_sync_duration_seconds_bucket${labels({ type: row.type, le })} ${row.n}`);
    if (le === "+Inf") {
      histogram.push(`dc_sync_duration_seconds_sum${labels({ type: row.type })} ${row.sum}`);
      histogram.push(`dc_sync_duration_seconds_count${labels({ type: row.type })} ${row.n}`);
    }
  }
  return [
    family(
      "dc_sync_jobs_total",
      "counter",
      "Sync jobs recorded, by type, trigger and current status",
      jobs.rows.map(
        (r) => `dc_sync_jobs_total${labels({ type: r.type, trigger: r.trigger, status: r.status })} ${r.n}`,
      ),
    ),
    family("dc_sync_duration_seconds", "histogram", "Duration of completed sync jobs, by type", histogram),
    family(
      "dc_queue_jobs",
      "gauge",
      "Queue jobs by queue and state",
      queue.rows.map((r) => `dc_queue_jobs${labels({ queue: r.name, state: r.state })} ${r.n}`),
    ),
    family(
      "dc_sources",
      "gauge",
      "Sources by type and status",
      sourceCounts.rows.map((r) => `dc_sources${labels({ type: r.type, status: r.status })} ${r.n}`),
    ),
    family("dc_workers", "gauge", "Workers whose heartbeat is under a minute old", [
      `dc_workers ${workerCount.rows[0]?.n ?? 0}`,
    ]),
  ];
}

/**
 * The Prometheus text exposition: this process's counters summed with the snapshots that live
 * workers published with their heartbeats, then the figures read from the database.
 */
export async function renderMetrics(): Promise<string> {
  const rows = await getDb().execute<{ id: string; metrics: Snapshot | null }>(
    sql`select id, metrics from workers where last_seen_at > now() - make_interval(secs => ${LIVE_WORKER_SECONDS})`,
  );
  const snapshots: Snapshot[] = [
    (await processMetrics.getMetricsAsJSON()) as Snapshot,
    ...rows.rows.flatMap((r) => (r.metrics && !localWorkerIds.has(r.id) ? [r.metrics] : [])),
  ];
  const counters = await AggregatorRegistry.aggregate(snapshots).metrics();
  return [counters.trimEnd(), ...(await databaseMetrics())].join("\n\n") + "\n";
}

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
