import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConnectorRateLimitError } from "@/lib/connectors/errors";
import { waitOutRateLimits, withRateLimitBudget } from "@/lib/connectors/wait-out-rate-limits";

describe("rate-limit waits", () => {
  test("a provider that rate-limits every request is waited out only until the sync's budget is spent", async () => {
    process.env.RATE_LIMIT_WAIT_BUDGET_SECONDS = "1";
    let calls = 0;
    const limited = async (): Promise<never> => {
      calls++;
      throw new ConnectorRateLimitError("always limited", new Date(Date.now() + 300));
    };
    try {
      const started = Date.now();
      await assert.rejects(
        withRateLimitBudget(async () => {
          // Several requests of one sync share the budget.
          await waitOutRateLimits(limited).catch(() => {});
          return waitOutRateLimits(limited);
        }),
        ConnectorRateLimitError,
      );
      assert.ok(Date.now() - started < 5_000, "the waits stopped within the budget");
      assert.ok(calls >= 3 && calls <= 10, `${calls} calls`);
    } finally {
      delete process.env.RATE_LIMIT_WAIT_BUDGET_SECONDS;
    }
  });

  test("a rate limit that lifts is waited out within the budget", async () => {
    let calls = 0;
    const value = await withRateLimitBudget(() =>
      waitOutRateLimits(async () => {
        if (calls++ === 0) throw new ConnectorRateLimitError("once", new Date(Date.now() + 50));
        return "ok";
      }),
    );
    assert.equal(value, "ok");
    assert.equal(calls, 2);
  });
});
