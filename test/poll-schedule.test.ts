import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  afterPoll,
  backOff,
  bucketOf,
  budgetPerHour,
  planTick,
  pollSettings,
  pollTickSeconds,
  refill,
  type PollCandidate,
} from "@/lib/sync/poll-schedule";
import { seeded, simulatePolls, type SimSource } from "./poll-simulation";

const settings = pollSettings({});
const at = (iso: string) => new Date(iso);

describe("poll schedule", () => {
  test("settings: defaults, the POLL_* variables, and the tick from POLL_SOURCES_CRON", () => {
    assert.deepEqual(settings, { budgetFraction: 0.5, minInterval: 60, maxInterval: 1800, tickSeconds: 60 });
    assert.deepEqual(
      pollSettings({
        POLL_BUDGET_FRACTION: "0.25",
        POLL_MIN_INTERVAL: "120",
        POLL_MAX_INTERVAL: "600",
        POLL_SOURCES_CRON: "*/5 * * * *",
      }),
      { budgetFraction: 0.25, minInterval: 120, maxInterval: 600, tickSeconds: 300 },
    );
    // Nonsense falls back to the defaults; a maximum under the minimum is the minimum.
    assert.deepEqual(pollSettings({ POLL_BUDGET_FRACTION: "-1", POLL_MIN_INTERVAL: "x", POLL_MAX_INTERVAL: "30" }), {
      ...settings,
      maxInterval: 60,
    });
    assert.equal(pollTickSeconds("0 * * * *"), 3600);
    assert.equal(pollTickSeconds("not a cron"), 60);
  });

  test("a budget is the fraction of the provider's documented hourly limit", () => {
    assert.equal(budgetPerHour("github", true, settings), 2500);
    assert.equal(budgetPerHour("github", false, settings), 30);
    assert.equal(budgetPerHour("bitbucket", true, settings), 500);
    assert.equal(budgetPerHour("dropbox", true, { ...settings, budgetFraction: 1 }), 1000);
  });

  test("the bucket's capacity and an hour's refill add up to the budget, and a new budget starts with one burst", () => {
    const { capacity, perSecond } = bucketOf(2500);
    assert.ok(Math.abs(capacity + perSecond * 3600 - 2500) < 1e-6);
    assert.ok(capacity >= 1 && capacity <= 2500 / 10, `capacity ${capacity}`);
    const now = at("2026-01-05T10:00:00Z");
    const fresh = refill(null, 2500, now);
    assert.equal(fresh.tokens, capacity);
    const spent = { ...fresh, tokens: 0 };
    const later = refill(spent, 2500, new Date(now.getTime() + 60_000));
    assert.ok(Math.abs(later.tokens - perSecond * 60) < 1e-9);
    assert.equal(refill(spent, 2500, new Date(now.getTime() + 86_400_000)).tokens, capacity, "never above capacity");
  });

  test("a tick polls the due sources, most overdue first, no more than the budget's tokens", () => {
    const now = at("2026-01-05T10:00:00Z");
    const candidates: PollCandidate[] = Array.from({ length: 10 }, (_, i) => ({
      id: `s${i}`,
      key: "credential:a",
      interval: 60,
      nextPollAt: new Date(now.getTime() - (i + 1) * 1000),
    }));
    candidates.push({ id: "later", key: "credential:a", interval: 60, nextPollAt: new Date(now.getTime() + 1000) });
    const plan = planTick({
      now,
      settings,
      candidates,
      budgets: new Map([
        ["credential:a", { perHour: 2500, state: { tokens: 3.5, refilledAt: now, backoffUntil: null, strikes: 0 } }],
      ]),
    });
    assert.deepEqual(
      plan.poll.map((c) => c.id),
      ["s9", "s8", "s7"],
    );
    assert.equal(plan.budgets.get("credential:a")!.tokens, 0.5);
    assert.deepEqual(plan.placed, []);
  });

  test("budgets are per key: one spent budget does not hold back another", () => {
    const now = at("2026-01-05T10:00:00Z");
    const due = new Date(now.getTime() - 1000);
    const plan = planTick({
      now,
      settings,
      candidates: [
        { id: "a", key: "credential:a", interval: 60, nextPollAt: due },
        { id: "b", key: "token:b", interval: 60, nextPollAt: due },
      ],
      budgets: new Map([
        ["credential:a", { perHour: 2500, state: { tokens: 0, refilledAt: now, backoffUntil: null, strikes: 0 } }],
        ["token:b", { perHour: 2500, state: null }],
      ]),
    });
    assert.deepEqual(
      plan.poll.map((c) => c.id),
      ["b"],
    );
  });

  test("sources not placed yet are spread over their first interval, not lined up on one minute", () => {
    const now = at("2026-01-05T10:00:00Z");
    const random = seeded(7);
    const candidates = Array.from({ length: 6000 }, (_, i) => ({
      id: `s${i}`,
      key: `credential:${i % 3}`,
      interval: null,
      nextPollAt: null,
    }));
    const plan = planTick({
      now,
      settings,
      random,
      candidates,
      budgets: new Map(["0", "1", "2"].map((k) => [`credential:${k}`, { perHour: 2500, state: null }])),
    });
    assert.equal(plan.poll.length, 0);
    assert.equal(plan.placed.length, 6000);
    // 2,000 sources on one budget at 60 s want 120,000 polls an hour: stretched ~50 times (and
    // more for the headroom), placed over the mean gap of that interval.
    const stretch = plan.stretch.get("credential:0")!;
    assert.ok(stretch > 50 && stretch < 100, `stretch ${stretch}`);
    const spanSeconds = 60 * stretch * 0.75;
    const minutes = new Map<number, number>();
    for (const p of plan.placed) {
      const offset = (p.nextPollAt.getTime() - now.getTime()) / 1000;
      assert.ok(offset >= 0 && offset <= spanSeconds, `offset ${offset}`);
      const minute = Math.floor(offset / 60);
      minutes.set(minute, (minutes.get(minute) ?? 0) + 1);
    }
    const mean = 6000 / Math.ceil(spanSeconds / 60);
    assert.ok(
      Math.max(...minutes.values()) < mean * 2,
      `busiest minute ${Math.max(...minutes.values())} vs mean ${mean}`,
    );
  });

  test("an interval grows while a source does not change and shrinks after a change, within the bounds", () => {
    const now = at("2026-01-05T10:00:00Z");
    const random = () => 0;
    let interval: number | null = null;
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) {
      interval = afterPoll({ now, interval, changed: false, stretch: 1, settings, random }).interval;
      seen.push(interval);
    }
    assert.deepEqual(seen.slice(0, 4), [90, 135, 203, 305]);
    assert.equal(seen.at(-1), 1800, "capped at POLL_MAX_INTERVAL");
    const changed = afterPoll({ now, interval: 1800, changed: true, stretch: 1, settings, random });
    assert.equal(changed.interval, 450);
    assert.equal(afterPoll({ now, interval: 100, changed: true, stretch: 1, settings, random }).interval, 60);
  });

  test("the next poll comes within the interval (times the budget's stretch) even after the tick rounds it up", () => {
    const now = at("2026-01-05T10:00:00Z");
    for (const r of [0, 0.5, 0.999]) {
      const { interval, nextPollAt } = afterPoll({
        now,
        interval: 600,
        changed: false,
        stretch: 3,
        settings,
        random: () => r,
      });
      const seconds = (nextPollAt.getTime() - now.getTime()) / 1000;
      assert.ok(seconds + settings.tickSeconds <= interval * 3, `${seconds} s`);
      assert.ok(seconds >= interval * 3 * 0.5 - settings.tickSeconds - 1e-9, `${seconds} s`);
    }
  });

  test("a rate limit stops the budget until the provider's time, at least a minute doubling per limit in a row", () => {
    const now = at("2026-01-05T10:00:00Z");
    const state = refill(null, 2500, now);
    const first = backOff(state, now, null);
    assert.equal(first.backoffUntil!.getTime() - now.getTime(), 60_000);
    const second = backOff(first, now, null);
    assert.equal(second.backoffUntil!.getTime() - now.getTime(), 120_000);
    const told = backOff(state, now, new Date(now.getTime() + 900_000));
    assert.equal(told.backoffUntil!.getTime() - now.getTime(), 900_000, "Retry-After wins when longer");

    const due = new Date(now.getTime() - 1000);
    const plan = planTick({
      now: new Date(now.getTime() + 30_000),
      settings,
      candidates: [{ id: "a", key: "k", interval: 60, nextPollAt: due }],
      budgets: new Map([["k", { perHour: 2500, state: first }]]),
    });
    assert.deepEqual(plan.poll, []);
    assert.deepEqual(plan.placed, [{ id: "a", nextPollAt: first.backoffUntil }]);
  });

  test("10,000 sources on one GitHub token for 6 hours: within the budget in every sliding hour, spread over the ticks, none waits past its interval", () => {
    const sources: SimSource[] = Array.from({ length: 10_000 }, (_, i) => ({
      id: `s${i}`,
      key: "token:one",
      changeEvery: i % 10 === 0 ? 1800 : null,
    }));
    const result = simulatePolls({ sources, perHour: () => 2500, settings, hours: 6 });
    const most = result.maxPerSlidingHour.get("token:one")!;
    assert.ok(most <= 2500, `${most} polls in one hour`);
    assert.ok(most >= 2500 * 0.6, `the budget is used: ${most} polls in the busiest hour`);
    // Spread: no tick takes more than the bucket's burst, and far fewer than all due at once.
    assert.ok(result.maxPerTick <= Math.ceil(bucketOf(2500).capacity), `${result.maxPerTick} polls in one tick`);
    assert.ok(result.maxGapRatio <= 1 + 1e-9, `gap ${result.maxGapRatio}x the interval`);
    assert.equal(result.neverPolled, 0);
  });

  test("few sources on a budget poll at their own intervals: changing ones often, quiet ones at the maximum", () => {
    const sources: SimSource[] = [
      ...Array.from({ length: 20 }, (_, i) => ({ id: `busy${i}`, key: "credential:a", changeEvery: 120 })),
      ...Array.from({ length: 20 }, (_, i) => ({ id: `quiet${i}`, key: "credential:a", changeEvery: null })),
    ];
    const result = simulatePolls({ sources, perHour: () => 2500, settings, hours: 4 });
    assert.ok(result.medianGap.changing <= 180, `changing sources polled every ${result.medianGap.changing} s`);
    assert.ok(
      result.medianGap.quiet >= 900 && result.medianGap.quiet <= 1800,
      `quiet sources polled every ${result.medianGap.quiet} s`,
    );
    assert.ok(result.maxGapRatio <= 1 + 1e-9);
  });
});
