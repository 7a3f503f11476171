import {
  afterPoll,
  backOff,
  ownInterval,
  planTick,
  type BudgetState,
  type PollSettings,
} from "@/lib/sync/poll-schedule";

// The poll schedule alone on a fake clock: sources that change every so often, budgets, ticks.
// No requests; used by the schedule's tests and by bench:scale-out.

export type SimSource = {
  id: string;
  key: string;
  /** Seconds between the source's changes; null: it never changes. */
  changeEvery: number | null;
};

export type SimResult = {
  /** Poll times (ms on the fake clock) per budget key. */
  pollsByKey: Map<string, number[]>;
  /** The most polls of each key within any sliding hour. */
  maxPerSlidingHour: Map<string, number>;
  /** The longest gap between two polls of a source over the effective interval it was given. */
  maxGapRatio: number;
  /** The same per budget key. */
  maxGapRatioByKey: Map<string, number>;
  /** The longest wait past a source's next poll time, in seconds. */
  maxLateSeconds: number;
  /** The most polls of one key at one tick. */
  maxPerTick: number;
  /** Sources never polled. */
  neverPolled: number;
  /** Polls per source type of change: median seconds between polls. */
  medianGap: { changing: number; quiet: number };
  /** The changes found, and how long after the change on average (seconds). */
  changesFound: number;
  meanDetectionSeconds: number;
};

/** A seeded generator (mulberry32), so that a simulation is the same every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function simulatePolls(input: {
  sources: SimSource[];
  perHour: (key: string) => number;
  settings: PollSettings;
  hours: number;
  start?: Date;
  seed?: number;
  /** Keys the provider rate-limits at these fake-clock times (ms), for a minute. */
  limitedAt?: { key: string; at: number }[];
}): SimResult {
  const { settings } = input;
  const random = seeded(input.seed ?? 1);
  const start = (input.start ?? new Date("2026-01-05T00:00:00Z")).getTime();
  const end = start + input.hours * 3600_000;
  const state = new Map(
    input.sources.map((s) => [
      s.id,
      {
        source: s,
        interval: null as number | null,
        nextPollAt: null as Date | null,
        lastPoll: null as number | null,
        promised: 0,
        gaps: [] as number[],
      },
    ]),
  );
  const budgets = new Map<string, BudgetState | null>();
  const pollsByKey = new Map<string, number[]>();
  let maxGapRatio = 0;
  const maxGapRatioByKey = new Map<string, number>();
  let maxLateSeconds = 0;
  let maxPerTick = 0;
  let changesFound = 0;
  let detection = 0;
  const tickMs = settings.tickSeconds * 1000;
  for (let t = start; t <= end; t += tickMs) {
    const now = new Date(t);
    const plan = planTick({
      now,
      settings,
      random,
      candidates: [...state.values()].map((s) => ({
        id: s.source.id,
        key: s.source.key,
        interval: s.interval,
        nextPollAt: s.nextPollAt,
      })),
      budgets: new Map(
        [...new Set(input.sources.map((s) => s.key))].map((key) => [
          key,
          { perHour: input.perHour(key), state: budgets.get(key) ?? null },
        ]),
      ),
    });
    for (const [key, b] of plan.budgets) budgets.set(key, b);
    for (const p of plan.placed) state.get(p.id)!.nextPollAt = p.nextPollAt;
    const limitedNow = new Set((input.limitedAt ?? []).filter((l) => l.at >= t && l.at < t + tickMs).map((l) => l.key));
    const perTick = new Map<string, number>();
    for (const c of plan.poll) {
      if (limitedNow.has(c.key)) {
        budgets.set(c.key, backOff(budgets.get(c.key)!, now, new Date(t + 60_000)));
        limitedNow.delete(c.key);
        continue;
      }
      const s = state.get(c.id)!;
      perTick.set(c.key, (perTick.get(c.key) ?? 0) + 1);
      let list = pollsByKey.get(c.key);
      if (!list) pollsByKey.set(c.key, (list = []));
      list.push(t);
      if (s.nextPollAt) maxLateSeconds = Math.max(maxLateSeconds, (t - s.nextPollAt.getTime()) / 1000);
      if (s.lastPoll !== null) {
        const gap = (t - s.lastPoll) / 1000;
        s.gaps.push(gap);
        maxGapRatio = Math.max(maxGapRatio, gap / s.promised);
        maxGapRatioByKey.set(c.key, Math.max(maxGapRatioByKey.get(c.key) ?? 0, gap / s.promised));
      }
      const every = s.source.changeEvery;
      const since = s.lastPoll ?? start;
      const changed =
        every !== null && Math.floor((t - start) / (every * 1000)) > Math.floor((since - start) / (every * 1000));
      if (changed) {
        changesFound++;
        const changeAt = start + Math.floor((t - start) / (every! * 1000)) * every! * 1000;
        detection += (t - changeAt) / 1000;
      }
      const stretch = plan.stretch.get(c.key) ?? 1;
      const after = afterPoll({ now, interval: s.interval, changed, stretch, settings, random });
      s.interval = after.interval;
      s.nextPollAt = after.nextPollAt;
      s.lastPoll = t;
      // What it was promised: no longer than its interval times its budget's stretch.
      s.promised = ownInterval(after.interval, settings) * stretch;
    }
    for (const n of perTick.values()) maxPerTick = Math.max(maxPerTick, n);
  }
  const maxPerSlidingHour = new Map<string, number>();
  for (const [key, times] of pollsByKey) {
    let most = 0;
    let from = 0;
    for (let i = 0; i < times.length; i++) {
      while (times[i]! - times[from]! >= 3600_000) from++;
      most = Math.max(most, i - from + 1);
    }
    maxPerSlidingHour.set(key, most);
  }
  const median = (xs: number[]) => {
    if (xs.length === 0) return 0;
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  const all = [...state.values()];
  return {
    pollsByKey,
    maxPerSlidingHour,
    maxGapRatio,
    maxGapRatioByKey,
    maxLateSeconds,
    maxPerTick,
    neverPolled: all.filter((s) => s.lastPoll === null).length,
    medianGap: {
      changing: median(all.filter((s) => s.source.changeEvery !== null).flatMap((s) => s.gaps.slice(-5))),
      quiet: median(all.filter((s) => s.source.changeEvery === null).flatMap((s) => s.gaps.slice(-5))),
    },
    changesFound,
    meanDetectionSeconds: changesFound ? detection / changesFound : 0,
  };
}
