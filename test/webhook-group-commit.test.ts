import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { sql } from "drizzle-orm";
import { sources } from "@/lib/db/schema";
import { pruneWebhookEvents, webhookEventRetentionDays } from "@/lib/webhooks/prune-webhook-events";
import { recordWebhookEvent } from "@/lib/webhooks/record-webhook-event";
import { closeAll, db, resetDb } from "./helpers";

after(() => closeAll());

test("webhooks recorded at once share transactions: each delivery once, redeliveries in the same batch are duplicates, one waiting sync per source", async () => {
  await resetDb();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const [row] = await db()
      .insert(sources)
      .values({ type: "github", name: `o/r${i}`, config: { repo: `o/r${i}`, branch: "main" } })
      .returning({ id: sources.id });
    ids.push(row!.id);
  }
  const deliveries = Array.from({ length: 60 }, (_, i) => ({
    delivery: randomUUID(),
    source: ids[i % ids.length]!,
    paths: i % 2 ? [`f${i}.ts`] : undefined,
  }));
  // Every delivery twice, all at once: the second of each is a duplicate wherever it lands.
  const results = await Promise.all(
    [...deliveries, ...deliveries].map((d) =>
      recordWebhookEvent({
        sourceType: "github",
        eventType: "push",
        deliveryId: d.delivery,
        payload: { n: d.delivery },
        targets: [{ sourceId: d.source, paths: d.paths }],
      }),
    ),
  );
  assert.equal(results.filter((r) => !r.duplicate).length, deliveries.length);
  assert.equal(results.filter((r) => r.duplicate).length, deliveries.length);
  const events = await db().execute<{ n: number; distinct: number; processed: number }>(
    sql`select count(*)::int as n, count(distinct delivery_id)::int as distinct, count(*) filter (where processed)::int as processed from webhook_events`,
  );
  assert.deepEqual(events.rows[0], { n: 60, distinct: 60, processed: 60 });
  const jobs = await db().execute<{ source_id: string; n: number; paths: string[] | null }>(
    sql`select source_id, count(*)::int as n, max(paths::text) as paths from sync_jobs where status = 'queued' group by source_id`,
  );
  assert.equal(jobs.rows.length, ids.length);
  assert.ok(
    jobs.rows.every((j) => j.n === 1),
    "one waiting sync per source",
  );
  // Some events of every source named no paths: each waiting sync compares through the delta.
  assert.ok(jobs.rows.every((j) => j.paths === null));
  const wakeUps = await db().execute<{ n: number }>(
    sql`select count(*)::int as n from pgboss.job where name = 'sync-source' and state = 'created'`,
  );
  assert.equal(wakeUps.rows[0]!.n, ids.length);
  // Every recorded event names the job that will sync its source.
  const jobIds = new Set(results.flatMap((r) => r.jobIds));
  assert.equal(jobIds.size, ids.length);

  // Alone, paths are kept (a single event is its own batch).
  await resetDb();
  const [row] = await db()
    .insert(sources)
    .values({ type: "github", name: "o/solo", config: { repo: "o/solo", branch: "main" } })
    .returning({ id: sources.id });
  const solo = await recordWebhookEvent({
    sourceType: "github",
    eventType: "push",
    deliveryId: randomUUID(),
    payload: {},
    targets: [{ sourceId: row!.id, paths: ["a.ts", "b.ts"] }],
  });
  assert.equal(solo.jobIds.length, 1);
  const [job] = (await db().execute<{ paths: string[] }>(sql`select paths from sync_jobs where id = ${solo.jobIds[0]}`))
    .rows;
  assert.deepEqual(job!.paths, ["a.ts", "b.ts"]);
});

test("an event whose source was deleted does not fail the others of its batch", async () => {
  await resetDb();
  const [kept] = await db()
    .insert(sources)
    .values({ type: "github", name: "o/kept", config: {} })
    .returning({ id: sources.id });
  const gone = randomUUID();
  const results = await Promise.allSettled(
    [kept!.id, gone, kept!.id].map((sourceId) =>
      recordWebhookEvent({
        sourceType: "github",
        eventType: "push",
        deliveryId: randomUUID(),
        payload: {},
        targets: [{ sourceId }],
      }),
    ),
  );
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 2);
  assert.equal(results[1]!.status, "rejected");
  const [{ n }] = (await db().execute<{ n: number }>(sql`select count(*)::int as n from webhook_events`)).rows as [
    { n: number },
  ];
  assert.equal(n, 2);
});

test("webhook events past their retention are pruned, oldest first and in batches; recent ones and redelivery checks stay", async () => {
  await resetDb();
  // 10,050 events from 40 days ago (more than one delete batch), 3 from yesterday.
  await db().execute(sql`insert into webhook_events (source_type, event_type, delivery_id, payload, created_at)
    select 'github', 'push', 'old-' || g, '{}'::jsonb, now() - interval '40 days' from generate_series(1, 10050) g`);
  await db().execute(sql`insert into webhook_events (source_type, event_type, delivery_id, payload, created_at)
    select 'github', 'push', 'recent-' || g, '{}'::jsonb, now() - interval '1 day' from generate_series(1, 3) g`);
  assert.equal(await pruneWebhookEvents(30), 10_050);
  const left = await db().execute<{ delivery_id: string }>(
    sql`select delivery_id from webhook_events order by delivery_id`,
  );
  assert.deepEqual(
    left.rows.map((r) => r.delivery_id),
    ["recent-1", "recent-2", "recent-3"],
  );
  // A recent delivery sent again is still recognised as a duplicate.
  const again = await recordWebhookEvent({
    sourceType: "github",
    eventType: "push",
    deliveryId: "recent-1",
    payload: {},
    targets: [],
  });
  assert.equal(again.duplicate, true);
  assert.equal(await pruneWebhookEvents(30), 0);
  process.env.WEBHOOK_EVENTS_RETENTION_DAYS = "0";
  assert.throws(
    () => webhookEventRetentionDays(),
    /WEBHOOK_EVENTS_RETENTION_DAYS must be a number of days of at least 1/,
  );
  delete process.env.WEBHOOK_EVENTS_RETENTION_DAYS;
  assert.equal(webhookEventRetentionDays(), 30);
});
