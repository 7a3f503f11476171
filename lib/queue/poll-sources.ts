import { createHash } from "node:crypto";
import { and, eq, inArray, isNotNull, isNull, lt, not, or, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { pollBudgets, sources, type Source } from "@/lib/db/schema";
import { connectorForSource } from "@/lib/sync/connector-for-source";
import { ConnectorAuthError, ConnectorError, ConnectorRateLimitError } from "@/lib/connectors/errors";
import { withoutRateLimitWaits } from "@/lib/connectors/wait-out-rate-limits";
import { openSourceToken } from "@/lib/oauth/provider-token";
import { mapLimit } from "@/lib/map-limit";
import {
  afterPoll,
  backOff,
  budgetPerHour,
  ownInterval,
  planTick,
  pollSettings,
  type BudgetInput,
  type BudgetState,
} from "@/lib/sync/poll-schedule";
import { WEBHOOK_PROVIDERS } from "@/lib/webhooks/callback-url";
import { syncLogger } from "@/lib/log";
import { requestSync } from "./request-sync";

/**
 * Types polled when no push reaches the app: git hosts and Drive without a registered webhook
 * or channel; Dropbox (whose webhook is the app's, set in its console) unless the app has a
 * public URL and the secret that verifies Dropbox's notifications.
 */
function polledTypes(): string[] {
  const dropboxPushes = Boolean(process.env.APP_URL?.trim() && process.env.DROPBOX_APP_SECRET);
  return [...WEBHOOK_PROVIDERS, "gdrive", ...(dropboxPushes ? [] : ["dropbox"])];
}

/** Polls in flight at once: each is one request that mostly waits on the provider. */
const POLL_CONCURRENCY = 8;

/**
 * The budget a source polls against: its connected account, else its own token (by a hash of
 * it, so that sources given the same token share one), else the anonymous requests of its host.
 */
function budgetKey(source: Source): { key: string; authenticated: boolean } {
  const credentialId = source.config.credentialId;
  if (typeof credentialId === "string" && credentialId)
    return { key: `credential:${credentialId}`, authenticated: true };
  if (source.tokenSecret) {
    try {
      const token = openSourceToken(source)!;
      return { key: `token:${createHash("sha256").update(token).digest("hex").slice(0, 32)}`, authenticated: true };
    } catch {
      return { key: `source:${source.id}`, authenticated: true };
    }
  }
  const host = typeof source.config.host === "string" ? source.config.host : "";
  return { key: `anonymous:${source.type}:${host}`, authenticated: false };
}

type PollOutcome =
  | { id: string; changed: boolean }
  | { id: string; failed: true }
  /** The provider answered with a rate limit. */
  | { id: string; limited: true }
  /** Not asked: its budget was rate-limited earlier in the run. */
  | { id: string; skipped: true };

/**
 * Sources the provider cannot call back are polled, cheaply: one request each (a conditional
 * ref lookup on git hosts, one page of the change feed on Drive and Dropbox), and an
 * incremental sync only when something changed. Which sources are asked on a run is the poll
 * schedule's (see poll-schedule): each source when its time comes, within its budget. Sources
 * still waiting for their first sync, or needing a new token, are left alone.
 */
export async function pollSources(options: { now?: Date } = {}): Promise<{ checked: number; queued: number }> {
  const now = options.now ?? new Date();
  const settings = pollSettings();
  const polled = and(
    inArray(sources.type, polledTypes()),
    or(isNull(sources.webhookId), inArray(sources.type, ["dropbox"])),
    // Synced at least once; an empty repository has no cursor yet and is polled all the same.
    isNotNull(sources.lastSyncAt),
    inArray(sources.status, ["synced", "error"]),
  )!;
  const rows = await getDb().select().from(sources).where(polled);
  // A source no longer polled (it got a webhook, needs a new token) shows no next poll.
  await getDb()
    .update(sources)
    .set({ nextPollAt: null })
    .where(and(isNotNull(sources.nextPollAt), not(polled)));
  const byId = new Map(rows.map((row) => [row.id, row]));
  const keys = new Map<string, string>();
  const budgetInputs = new Map<string, BudgetInput>();
  for (const row of rows) {
    const { key, authenticated } = budgetKey(row);
    keys.set(row.id, key);
    if (!budgetInputs.has(key))
      budgetInputs.set(key, { perHour: budgetPerHour(row.type, authenticated, settings), state: null });
  }
  if (budgetInputs.size > 0) {
    const stored = await getDb()
      .select()
      .from(pollBudgets)
      .where(inArray(pollBudgets.key, [...budgetInputs.keys()]));
    for (const b of stored) budgetInputs.get(b.key)!.state = b;
  }
  const plan = planTick({
    now,
    settings,
    budgets: budgetInputs,
    candidates: rows.map((row) => ({
      id: row.id,
      key: keys.get(row.id)!,
      interval: row.pollInterval,
      nextPollAt: row.nextPollAt,
    })),
  });

  const pollLog = (id: string) => syncLogger({ sourceId: id, provider: byId.get(id)!.type });

  // A budget's sources are asked one after another (budgets side by side), and a budget the
  // provider rate-limits stops for this run: its other sources stay due.
  const limited = new Map<string, Date>();
  const groups = new Map<string, string[]>();
  for (const { id, key } of plan.poll) groups.set(key, [...(groups.get(key) ?? []), id]);
  const outcomes = (
    await withoutRateLimitWaits(() =>
      mapLimit([...groups], POLL_CONCURRENCY, async ([key, ids]) => {
        const done: PollOutcome[] = [];
        for (const id of ids) done.push(limited.has(key) ? { id, skipped: true } : await pollOrRecord(id, key));
        return done;
      }),
    )
  ).flat();

  async function pollOrRecord(id: string, key: string): Promise<PollOutcome> {
    try {
      return { id, changed: await pollOne(byId.get(id)!) };
    } catch (err) {
      if (err instanceof ConnectorRateLimitError) {
        limited.set(key, err.retryAt);
        pollLog(id).warn({ retryAt: err.retryAt.toISOString() }, "poll of the source rate limited");
        return { id, limited: true };
      }
      // One source's failure (of any kind) never stops the others' polls.
      const reason = err instanceof ConnectorError ? err.message : `${(err as Error).name ?? "Error"}`;
      pollLog(id).warn({ reason }, "poll of the source failed");
      if (err instanceof ConnectorError && !err.retryable) await recordPollFailure(id, err);
      return { id, failed: true };
    }
  }

  let queued = 0;
  const next: { id: string; nextPollAt: Date; interval: number | null }[] = plan.placed.map((p) => ({
    ...p,
    interval: null,
  }));
  for (const outcome of outcomes) {
    // Rate limited or not asked: still due, asked first once the budget's back-off ends.
    if ("limited" in outcome || "skipped" in outcome) continue;
    const row = byId.get(outcome.id)!;
    const changed = "changed" in outcome && outcome.changed;
    if (changed) {
      await requestSync({ sourceId: row.id, type: "incremental", trigger: "schedule" });
      queued++;
    }
    // A failed poll keeps its interval: it says nothing about how often the source changes.
    const after = afterPoll({
      now,
      interval: row.pollInterval,
      changed,
      stretch: plan.stretch.get(keys.get(row.id)!) ?? 1,
      settings,
    });
    next.push({
      id: row.id,
      nextPollAt: after.nextPollAt,
      interval: "failed" in outcome ? ownInterval(row.pollInterval, settings) : after.interval,
    });
  }
  await saveSchedule(next);

  const budgetsAfter = new Map(plan.budgets);
  for (const [key, retryAt] of limited) budgetsAfter.set(key, backOff(budgetsAfter.get(key)!, now, retryAt));
  for (const outcome of outcomes) {
    const key = keys.get(outcome.id)!;
    const state = budgetsAfter.get(key)!;
    if (!limited.has(key) && state.strikes > 0) budgetsAfter.set(key, { ...state, strikes: 0, backoffUntil: null });
  }
  await saveBudgets(budgetsAfter);
  await pruneIdleBudgets(now);
  return { checked: outcomes.filter((o) => !("skipped" in o)).length, queued };
}

/** Whether the source changed since its cursor; stores a config the provider moved. */
async function pollOne(source: Source): Promise<boolean> {
  const connector = await connectorForSource(source);
  const changed =
    connector.hasChanges && source.cursor
      ? await connector.hasChanges(source.cursor)
      : await connector.currentCursor().then((head) => head !== null && head !== source.cursor);
  const moved = connector.movedConfig?.();
  if (moved) {
    await getDb()
      .update(sources)
      .set({ config: { ...source.config, ...moved }, updatedAt: new Date() })
      .where(eq(sources.id, source.id));
  }
  // Stored for the next poll, whichever worker runs it.
  const validator = connector.headValidator?.() ?? null;
  if (validator && validator.etag !== source.headValidator?.etag) {
    await getDb().update(sources).set({ headValidator: validator }).where(eq(sources.id, source.id));
  }
  return changed;
}

async function saveSchedule(next: { id: string; nextPollAt: Date; interval: number | null }[]): Promise<void> {
  if (next.length === 0) return;
  const ids = sql.param(next.map((n) => n.id));
  const at = sql.param(next.map((n) => n.nextPollAt.toISOString()));
  const intervals = sql.param(next.map((n) => n.interval));
  await getDb().execute(sql`
    update sources s set next_poll_at = u.next_poll_at, poll_interval = coalesce(u.poll_interval, s.poll_interval)
    from unnest(${ids}::uuid[], ${at}::timestamptz[], ${intervals}::int[]) u(id, next_poll_at, poll_interval)
    where s.id = u.id`);
}

/** A budget is idle this long after no polled source spent it (a deleted credential's, one now on webhooks). */
const IDLE_BUDGET_MS = 24 * 3600_000;

/**
 * Every run refills (and stores) the budgets its sources spend, so a row not refilled for a day
 * belongs to no polled source. It is full by then, which is what a missing row means, so it is
 * deleted, unless the provider's back-off has not ended yet.
 */
async function pruneIdleBudgets(now: Date): Promise<void> {
  await getDb()
    .delete(pollBudgets)
    .where(
      and(
        lt(pollBudgets.refilledAt, new Date(now.getTime() - IDLE_BUDGET_MS)),
        or(isNull(pollBudgets.backoffUntil), lt(pollBudgets.backoffUntil, now)),
      ),
    );
}

async function saveBudgets(budgets: Map<string, BudgetState>): Promise<void> {
  if (budgets.size === 0) return;
  const entries = [...budgets];
  const keys = sql.param(entries.map(([key]) => key));
  const tokens = sql.param(entries.map(([, b]) => b.tokens));
  const refilled = sql.param(entries.map(([, b]) => b.refilledAt.toISOString()));
  const backoff = sql.param(entries.map(([, b]) => b.backoffUntil?.toISOString() ?? null));
  const strikes = sql.param(entries.map(([, b]) => b.strikes));
  await getDb().execute(sql`
    insert into poll_budgets (key, tokens, refilled_at, backoff_until, strikes)
    select * from unnest(${keys}::text[], ${tokens}::float8[], ${refilled}::timestamptz[], ${backoff}::timestamptz[], ${strikes}::int[])
    on conflict (key) do update set tokens = excluded.tokens, refilled_at = excluded.refilled_at,
      backoff_until = excluded.backoff_until, strikes = excluded.strikes`);
}

/**
 * A poll that cannot work until someone acts (a revoked token, a repository or branch gone)
 * shows on the source: needs_reauth for credentials, error otherwise, with the error's message
 * as what to do. Transient failures (network, 5xx, rate limits) leave the status be: the next
 * poll retries.
 */
async function recordPollFailure(sourceId: string, err: ConnectorError): Promise<void> {
  const status = err instanceof ConnectorAuthError ? "needs_reauth" : "error";
  await getDb()
    .update(sources)
    .set({ status, statusDetail: err.message, updatedAt: new Date() })
    .where(eq(sources.id, sourceId));
}
