import assert from "node:assert/strict";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { eq, sql } from "drizzle-orm";
import { signInThrottles } from "@/lib/db/schema";
import { clientAddress, markClientAddress, resolveClientAddress } from "@/lib/auth/client-address";
import { signInWithPassword } from "@/lib/auth/sign-in";
import { ACCOUNT_ATTEMPTS, MAX_DELAY_SECONDS, takeAttempt } from "@/lib/auth/throttle";
import { closeAll, db, resetDb, signedInUser } from "./helpers";

const RIGHT = "a long test password";

/** Moves every throttle row's last attempt `seconds` into the past: the wait is over without sleeping. */
async function letTimePass(seconds: number) {
  await db().execute(
    sql`update sign_in_throttles set last_attempt_at = last_attempt_at - make_interval(secs => ${seconds})`,
  );
}

describe("sign-in throttling: a growing delay per account and per real client address", () => {
  const savedProxies = process.env.TRUSTED_PROXIES;
  beforeEach(() => resetDb());
  afterEach(() => {
    if (savedProxies === undefined) delete process.env.TRUSTED_PROXIES;
    else process.env.TRUSTED_PROXIES = savedProxies;
  });
  after(() => closeAll());

  test("X-Forwarded-For is read only from TRUSTED_PROXIES; by default the socket address is the client", () => {
    delete process.env.TRUSTED_PROXIES;
    assert.equal(resolveClientAddress("203.0.113.7", "6.6.6.6"), "203.0.113.7");
    assert.equal(resolveClientAddress("::ffff:203.0.113.7", undefined), "203.0.113.7");

    process.env.TRUSTED_PROXIES = "10.0.0.0/8, 192.0.2.1,fd00::/8";
    assert.equal(resolveClientAddress("10.1.2.3", "6.6.6.6, 198.51.100.4"), "198.51.100.4");
    assert.equal(resolveClientAddress("10.1.2.3", "6.6.6.6, 198.51.100.4, 192.0.2.1"), "198.51.100.4");
    assert.equal(resolveClientAddress("fd00::1", "198.51.100.4"), "198.51.100.4");
    assert.equal(resolveClientAddress("203.0.113.7", "198.51.100.4"), "203.0.113.7", "not a trusted proxy");
    assert.equal(resolveClientAddress("10.1.2.3", "10.0.0.9"), "10.0.0.9", "a chain of proxies only");
    assert.equal(resolveClientAddress("10.1.2.3", "not-an-address"), "10.1.2.3");

    // Request headers alone (a client can send any): neither X-Forwarded-For nor an unmarked
    // internal header is believed.
    assert.notEqual(clientAddress(new Headers({ "x-forwarded-for": "6.6.6.6" })), "6.6.6.6");
    assert.notEqual(clientAddress(new Headers({ "x-real-ip": "6.6.6.6" })), "6.6.6.6");
    const headers: Record<string, string | string[] | undefined> = {
      "x-forwarded-for": "6.6.6.6",
      "x-dc-client-ip": "6.6.6.6",
    };
    markClientAddress(headers, "203.0.113.9");
    assert.equal(
      clientAddress(new Headers(headers as Record<string, string>)),
      "203.0.113.9",
      "server.ts overwrites whatever the client sent under the internal header",
    );
    process.env.TRUSTED_PROXIES = "not a cidr/99";
    assert.throws(() => resolveClientAddress("10.1.2.3", undefined), /TRUSTED_PROXIES/);
  });

  test("failures add a growing delay capped at 30 s, never a lockout: the right password gets in after the wait", async () => {
    await signedInUser("victim@example.com");
    const attempt = (password: string, address: string) =>
      signInWithPassword({ email: "victim@example.com", password, address });

    let lastWait = 0;
    for (let i = 0; i < 40; i++) {
      const r = await attempt(`guess ${i}`, `192.0.2.${i}`);
      if (!r.ok && r.reason === "rate_limited") {
        assert.ok(r.retryAfterSeconds >= 1 && r.retryAfterSeconds <= MAX_DELAY_SECONDS, `${r.retryAfterSeconds}`);
        assert.ok(r.retryAfterSeconds >= lastWait || r.retryAfterSeconds === MAX_DELAY_SECONDS);
        lastWait = r.retryAfterSeconds;
        await letTimePass(r.retryAfterSeconds);
      } else {
        assert.equal(!r.ok && r.reason, "invalid");
      }
    }
    assert.equal(lastWait, MAX_DELAY_SECONDS, "the delay grew to its cap");
    const [row] = await db().select().from(signInThrottles).where(eq(signInThrottles.key, "email:victim@example.com"));
    assert.ok(row!.attempts > ACCOUNT_ATTEMPTS);

    // Right after a failure the account waits, even with the right password; after the wait it gets in.
    await letTimePass(MAX_DELAY_SECONDS);
    assert.equal(((r) => !r.ok && r.reason)(await attempt("one more guess", "192.0.2.99")), "invalid");
    const waiting = await attempt(RIGHT, "198.51.100.1");
    assert.equal(!waiting.ok && waiting.reason, "rate_limited");
    assert.equal(!waiting.ok && waiting.reason === "rate_limited" && waiting.retryAfterSeconds, MAX_DELAY_SECONDS);
    await letTimePass(MAX_DELAY_SECONDS);
    const ok = await attempt(RIGHT, "198.51.100.1");
    assert.equal(ok.ok, true, "no lockout: the owner gets in after at most 30 s");
    assert.equal(
      (await db().select().from(signInThrottles).where(eq(signInThrottles.key, "email:victim@example.com"))).length,
      0,
      "a success clears the account's failures",
    );
  });

  test("a refused attempt is never reported allowed, even when it lands in the same clock tick as the last allowed one", async () => {
    // The embedded database's clock moves in whole milliseconds, so many of these share a now().
    for (let round = 0; round < 10; round++) {
      const verdicts = await Promise.all(Array.from({ length: 60 }, () => takeAttempt(`key:${round}`, 3)));
      const allowed = verdicts.filter((v) => v.allowed).length;
      assert.equal(allowed, 3, `round ${round}: ${allowed} of 60 parallel attempts were allowed`);
      const [row] = await db()
        .select()
        .from(signInThrottles)
        .where(eq(signInThrottles.key, `key:${round}`));
      assert.equal(row!.attempts, 3, "a refused attempt is not counted");
    }
  });

  test("parallel guesses cannot all slip past the delay; old throttle rows are pruned", async () => {
    await signedInUser("race@example.com");
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        signInWithPassword({ email: "race@example.com", password: `guess ${i}`, address: `192.0.2.${i}` }),
      ),
    );
    const tried = results.filter((r) => !r.ok && r.reason === "invalid").length;
    assert.ok(tried <= ACCOUNT_ATTEMPTS + 1, `${tried} guesses were checked`);

    await db().insert(signInThrottles).values({ key: "ip:old", attempts: 3 });
    await db().execute(
      sql`update sign_in_throttles set last_attempt_at = now() - interval '2 days' where key = 'ip:old'`,
    );
    await signInWithPassword({ email: "race@example.com", password: "x", address: "192.0.2.200" });
    assert.equal((await db().select().from(signInThrottles).where(eq(signInThrottles.key, "ip:old"))).length, 0);
  });
});
