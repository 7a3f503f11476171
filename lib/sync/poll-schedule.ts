import { CronExpressionParser } from "cron-parser";

// When each polled source is next asked whether it changed. Pure: the clock and the random
// source are arguments, so that tests and the schedule simulation run it on a fake clock.
//
// Rules:
// - Budgets. Every source polls against one budget: the credential it uses, else its own token
//   (sources given the same token share one), else the anonymous requests of its provider's host.
//   A budget spends at most `POLL_BUDGET_FRACTION` of the provider's documented hourly limit:
//   a token bucket whose capacity plus an hour's refill equal that share, so that no sliding hour
//   holds more polls than the share, whatever the ticks.
// - Intervals. A source's own interval grows by half after a poll that found nothing and drops to
//   a quarter after one that found a change, within POLL_MIN_INTERVAL..POLL_MAX_INTERVAL. When
//   the intervals of a budget's sources ask for more polls an hour than the budget refills, all
//   of them are stretched by the same factor (the budget wins over POLL_MAX_INTERVAL).
// - Spreading. A source not placed yet gets a random time within its first interval; a polled
//   one its interval less up to a half (random) and less one tick, so that ticks (the cron of
//   the poll job) round it up to at most its interval. Sources never line up on one minute, and
//   sources that did (connected together) drift apart.
// - Back-off. A budget the provider rate-limits stops until the provider's time, and at least a
//   minute doubling with each limit met in a row.

export type PollSettings = {
  /** Share of a provider's hourly limit that polls may spend (0..1]. */
  budgetFraction: number;
  minInterval: number;
  maxInterval: number;
  /** Longest gap between two runs of the poll job, in seconds. */
  tickSeconds: number;
};

/**
 * Documented requests an hour per token (PROVIDERS.md): GitHub 5,000 a user token; GitLab.com
 * 2,000 a minute per user; Bitbucket Cloud's repository endpoints at least 1,000 (scaled up to
 * 10,000); Drive 12,000 queries a minute per user. Dropbox publishes none: 1,000 is an
 * assumption, kept honest by backing off on its 429s. Anonymous requests are limited per client
 * address: GitHub's and Bitbucket's 60 an hour; GitLab's taken as a minute of authenticated ones.
 */
export const HOURLY_LIMITS: Record<string, { token: number; anonymous: number }> = {
  github: { token: 5_000, anonymous: 60 },
  gitlab: { token: 120_000, anonymous: 2_000 },
  bitbucket: { token: 1_000, anonymous: 60 },
  gdrive: { token: 720_000, anonymous: 60 },
  dropbox: { token: 1_000, anonymous: 60 },
};

/** The most of its hourly share a budget may spend at once (seconds of its rate, at least one poll). */
const BURST_SECONDS = 300;
/** Intervals are stretched to leave this share of the refill free, for bursts and retries. */
const HEADROOM = 0.85;
/**
 * A next poll comes after its interval less up to this share of it (random): the mean gap is
 * then (1 - JITTER / 2) of the interval, which the stretch accounts for. Wide enough that sources
 * placed together drift apart within a few polls instead of coming due together again.
 */
const JITTER = 0.5;
const GROWTH = 1.5;
const SHRINK = 0.25;
/** The shortest back-off after a rate limit, doubled per limit met in a row, at most an hour. */
const BACKOFF_SECONDS = 60;
const MAX_BACKOFF_SECONDS = 3600;

function positiveNumber(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value.trim() !== "" && Number.isFinite(n) && n > 0 ? n : fallback;
}

/** The longest gap between runs of `cron` over its next few runs, in seconds (at most an hour). */
export function pollTickSeconds(cron: string, from = new Date()): number {
  try {
    const runs = CronExpressionParser.parse(cron, { tz: "UTC", strict: false, currentDate: from })
      .take(6)
      .map((d) => d.getTime());
    let gap = 0;
    for (let i = 1; i < runs.length; i++) gap = Math.max(gap, (runs[i]! - runs[i - 1]!) / 1000);
    return Math.min(3600, gap || 60);
  } catch {
    return 60;
  }
}

export function pollSettings(env: Record<string, string | undefined> = process.env): PollSettings {
  const minInterval = positiveNumber(env.POLL_MIN_INTERVAL, 60);
  return {
    budgetFraction: Math.min(1, positiveNumber(env.POLL_BUDGET_FRACTION, 0.5)),
    minInterval,
    maxInterval: Math.max(minInterval, positiveNumber(env.POLL_MAX_INTERVAL, 1800)),
    tickSeconds: pollTickSeconds(env.POLL_SOURCES_CRON ?? "* * * * *"),
  };
}

/** Polls an hour a budget may spend: the fraction of the provider's documented limit. */
export function budgetPerHour(type: string, authenticated: boolean, settings: PollSettings): number {
  const limits = HOURLY_LIMITS[type] ?? { token: 1_000, anonymous: 60 };
  return (authenticated ? limits.token : limits.anonymous) * settings.budgetFraction;
}

/** The token bucket of a budget: at most `capacity` at once, refilled by `perSecond`. */
export function bucketOf(perHour: number): { capacity: number; perSecond: number } {
  const capacity = Math.max(1, Math.min(perHour / 2, (perHour * BURST_SECONDS) / 3600));
  // A budget under two polls an hour still refills (its hour may then hold one poll too many).
  return { capacity, perSecond: Math.max(perHour - capacity, perHour / 2) / 3600 };
}

export type BudgetState = { tokens: number; refilledAt: Date; backoffUntil: Date | null; strikes: number };

/** A new budget starts with one burst; then what was spent is refilled up to the capacity. */
export function refill(state: BudgetState | null, perHour: number, now: Date): BudgetState {
  const { capacity, perSecond } = bucketOf(perHour);
  if (!state) return { tokens: capacity, refilledAt: now, backoffUntil: null, strikes: 0 };
  const elapsed = Math.max(0, (now.getTime() - state.refilledAt.getTime()) / 1000);
  return { ...state, tokens: Math.min(capacity, state.tokens + elapsed * perSecond), refilledAt: now };
}

/** After a rate limit: stop until the provider's time, and at least the doubling back-off. */
export function backOff(state: BudgetState, now: Date, retryAt: Date | null): BudgetState {
  const strikes = state.strikes + 1;
  const seconds = Math.min(MAX_BACKOFF_SECONDS, BACKOFF_SECONDS * 2 ** (strikes - 1));
  const until = Math.max(now.getTime() + seconds * 1000, retryAt?.getTime() ?? 0);
  return { ...state, backoffUntil: new Date(until), strikes };
}

export type PollCandidate = {
  id: string;
  /** The budget it spends (see the rules above). */
  key: string;
  /** Its own interval in seconds; null: not polled yet (the minimum). */
  interval: number | null;
  nextPollAt: Date | null;
};

export type BudgetInput = { perHour: number; state: BudgetState | null };

export type TickPlan = {
  /** Due now, most overdue first, within their budgets' tokens. */
  poll: PollCandidate[];
  /** Sources placed for the first time, or moved past a back-off: their new time. */
  placed: { id: string; nextPollAt: Date }[];
  /** Each budget after this tick's polls are taken from it. */
  budgets: Map<string, BudgetState>;
  /** Each budget's stretch factor (1: the sources' own intervals fit). */
  stretch: Map<string, number>;
};

export function ownInterval(interval: number | null, settings: PollSettings): number {
  return Math.min(settings.maxInterval, Math.max(settings.minInterval, interval ?? settings.minInterval));
}

/**
 * How much a budget's sources' intervals must be stretched so that their polls fit its refill:
 * the polls an hour they ask for over what the budget refills an hour (with headroom), at least 1.
 */
export function stretchFactor(intervals: number[], perHour: number): number {
  const wanted = intervals.reduce((sum, interval) => sum + 3600 / interval, 0);
  const refillPerHour = bucketOf(perHour).perSecond * 3600 * HEADROOM * (1 - JITTER / 2);
  if (refillPerHour <= 0) return 1;
  return Math.max(1, wanted / refillPerHour);
}

/** Which sources to poll this tick, and where the ones not placed yet go. */
export function planTick(input: {
  now: Date;
  candidates: PollCandidate[];
  budgets: Map<string, BudgetInput>;
  settings: PollSettings;
  random?: () => number;
}): TickPlan {
  const { now, candidates, settings } = input;
  const random = input.random ?? Math.random;
  const byKey = new Map<string, PollCandidate[]>();
  for (const c of candidates) {
    const list = byKey.get(c.key);
    if (list) list.push(c);
    else byKey.set(c.key, [c]);
  }
  const poll: PollCandidate[] = [];
  const placed: TickPlan["placed"] = [];
  const budgets = new Map<string, BudgetState>();
  const stretch = new Map<string, number>();
  for (const [key, list] of byKey) {
    const budget = input.budgets.get(key) ?? { perHour: 0, state: null };
    const factor = stretchFactor(
      list.map((c) => ownInterval(c.interval, settings)),
      budget.perHour,
    );
    stretch.set(key, factor);
    let state = refill(budget.state, budget.perHour, now);
    const due: PollCandidate[] = [];
    for (const c of list) {
      if (!c.nextPollAt) {
        // Over the mean gap the stretch was reckoned with, so the first round keeps to the refill.
        const seconds = random() * ownInterval(c.interval, settings) * factor * (1 - JITTER / 2);
        placed.push({ id: c.id, nextPollAt: new Date(now.getTime() + seconds * 1000) });
      } else if (c.nextPollAt.getTime() <= now.getTime()) due.push(c);
    }
    const backoffUntil = state.backoffUntil;
    if (backoffUntil && backoffUntil.getTime() > now.getTime()) {
      // Shown as the time they will be asked; the bucket spreads them once the back-off ends.
      for (const c of due) placed.push({ id: c.id, nextPollAt: backoffUntil });
    } else {
      due.sort((a, b) => a.nextPollAt!.getTime() - b.nextPollAt!.getTime());
      const take = Math.min(due.length, Math.floor(state.tokens + 1e-9));
      poll.push(...due.slice(0, take));
      state = { ...state, tokens: state.tokens - take };
    }
    budgets.set(key, state);
  }
  return { poll, placed, budgets, stretch };
}

/** A polled source's next interval and time, from whether the poll found a change. */
export function afterPoll(input: {
  now: Date;
  interval: number | null;
  changed: boolean;
  /** The stretch factor of its budget (planTick). */
  stretch: number;
  settings: PollSettings;
  random?: () => number;
}): { interval: number; nextPollAt: Date } {
  const { settings } = input;
  const random = input.random ?? Math.random;
  const current = ownInterval(input.interval, settings);
  const interval = Math.round(ownInterval(current * (input.changed ? SHRINK : GROWTH), settings));
  const effective = interval * Math.max(1, input.stretch);
  const seconds = Math.max(0, effective * (1 - random() * JITTER) - settings.tickSeconds);
  return { interval, nextPollAt: new Date(input.now.getTime() + seconds * 1000) };
}
