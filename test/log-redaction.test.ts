import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";
import { findLeakedSecrets } from "@/scripts/find-leaked-secrets";

const TOKEN = "ghp_KNOWNLEAKCHECK0123456789abcdef0123";

/** Runs a snippet in a fresh process (the logger reads LOG_FORMAT at load) and returns what it printed. */
function logged(code: string, env: Record<string, string> = {}): string {
  return execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
}

describe("structured logs", () => {
  test("are JSON lines that carry the sync's ids, with every secret-bearing field redacted", () => {
    const out = logged(`
      import { logger } from "@/lib/log";
      const log = logger.child({ sourceId: "s-1", jobId: "j-1", provider: "github" });
      log.info({ token: "${TOKEN}", headers: { authorization: "Bearer ${TOKEN}", cookie: "dc.session-token=${TOKEN}" },
        credential: { accessToken: "${TOKEN}", refreshToken: "${TOKEN}" }, webhookSecret: "${TOKEN}", password: "${TOKEN}" }, "sync started");
    `);
    const line = JSON.parse(out.trim().split("\n").at(-1)!);
    assert.equal(line.msg, "sync started");
    assert.equal(line.sourceId, "s-1");
    assert.equal(line.jobId, "j-1");
    assert.equal(line.provider, "github");
    assert.equal(line.level, 30);
    assert.doesNotMatch(out, /KNOWNLEAKCHECK/);
    assert.equal(line.headers.authorization, "[redacted]");
    assert.equal(line.credential.refreshToken, "[redacted]");
  });

  test("every line logged within a sync carries its sourceId, jobId and provider, each once", () => {
    const out = logged(`
      import { logger, syncLogger, withSyncLog } from "@/lib/log";
      const fields = { sourceId: "s-2", jobId: "j-2", provider: "gitlab" };
      await withSyncLog(fields, async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        logger.warn("deep in a connector");
        syncLogger(fields).info("about the sync");
      });
      logger.info("outside");
    `);
    const lines = out.trim().split("\n");
    const [deep, about, outside] = lines.map((l) => JSON.parse(l));
    for (const line of [deep, about]) {
      assert.equal(line.sourceId, "s-2");
      assert.equal(line.jobId, "j-2");
      assert.equal(line.provider, "gitlab");
    }
    assert.equal(lines[1]!.match(/"sourceId"/g)!.length, 1, "a child logger's fields are not repeated");
    assert.equal(outside.sourceId, undefined);
  });

  test("LOG_FORMAT=pretty prints for a terminal, still redacted; LOG_LEVEL filters", () => {
    const out = logged(
      `import { logger } from "@/lib/log"; logger.debug("hidden"); logger.warn({ token: "${TOKEN}" }, "shown");`,
      { LOG_FORMAT: "pretty", LOG_LEVEL: "info" },
    );
    assert.match(out, /WARN.*shown/);
    assert.doesNotMatch(out, /hidden/);
    assert.doesNotMatch(out, /KNOWNLEAKCHECK/);
    assert.throws(() => JSON.parse(out.split("\n")[0]!));
  });

  test("npm test fails when anything the suite prints holds one of its secrets", () => {
    const keyring = `test:${Buffer.alloc(32, 7).toString("base64")}`;
    assert.deepEqual(findLeakedSecrets('[web] listening\n{"msg":"ok"}\n', keyring), []);
    assert.deepEqual(findLeakedSecrets("dc_provider_rate_limit_wait_seconds_total 3", keyring), [], "a metric's name");
    assert.equal(findLeakedSecrets(`Bearer dc_${Buffer.alloc(32, 200).toString("base64url")}`, keyring).length, 1);
    assert.equal(findLeakedSecrets(`request failed: Authorization: token ${TOKEN}`, keyring).length, 1);
    assert.equal(findLeakedSecrets(`key ${Buffer.alloc(32, 7).toString("base64")}`, keyring).length, 1);
    assert.doesNotMatch(findLeakedSecrets(`leak ${TOKEN}`, keyring)[0]!, /KNOWNLEAKCHECK/);
  });

  test("one access-log line per API request: method, route, status and time, never the query", () => {
    const out = logged(`
      import * as route from "@/app/api/activity/route";
      await route.GET(new Request("http://localhost/api/activity?code=${TOKEN}"), { params: Promise.resolve({}) });
    `);
    const lines = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const access = lines.filter((l) => l.msg === "api request");
    assert.equal(access.length, 1);
    assert.equal(access[0].method, "GET");
    assert.equal(access[0].route, "/api/activity");
    assert.equal(access[0].status, 401);
    assert.equal(typeof access[0].ms, "number");
    assert.doesNotMatch(out, /KNOWNLEAKCHECK/);
  });
});
