import assert from "node:assert/strict";
import { after, beforeEach, describe, test } from "node:test";
import * as sourcesRoute from "@/app/api/sources/route";
import { verifiedEmail } from "@/lib/auth/oauth-sign-in";
import { setupAllowed } from "@/lib/auth/setup-access";
import { markClientAddress } from "@/lib/auth/client-address";
import { NextRequest } from "next/server";
import nextConfig from "@/next.config";
import { proxy } from "@/proxy";
import { call, closeAll, resetDb, signedInUser } from "./helpers";

function headersFor(address: string): Headers {
  const raw: Record<string, string | string[] | undefined> = {};
  markClientAddress(raw, address);
  return new Headers(raw as Record<string, string>);
}

describe("hardening: sign-in providers, body caps, security headers, first-run setup", () => {
  beforeEach(() => resetDb());
  after(() => closeAll());

  test("GitLab sign-in requires confirmed_at to be a string (a missing or non-string value is unconfirmed)", () => {
    const profile = { email: "Dev@Example.com" };
    assert.equal(verifiedEmail("gitlab", { ...profile, confirmed_at: "2024-01-02T03:04:05Z" }), "dev@example.com");
    for (const confirmed of [undefined, null, false, 0, true, {}, ""]) {
      assert.equal(verifiedEmail("gitlab", { ...profile, confirmed_at: confirmed }), null, String(confirmed));
    }
  });

  test("an authenticated JSON body over 1 MB is a 413 problem, read no further", async () => {
    const user = await signedInUser("big@example.com");
    const big = JSON.stringify({ type: "local", name: "x".repeat(1024 * 1024 + 10), config: {} });
    const res = await call(sourcesRoute.POST, "POST", "/api/sources", { token: user.token, rawBody: big });
    assert.equal(res.status, 413, res.text);
    assert.match(res.type ?? "", /application\/problem\+json/);
    assert.match(res.json.detail, /1 MB/);
    // Streamed without a length: counted as it arrives.
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 40) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await sourcesRoute.POST(
      new Request("http://localhost/api/sources", {
        method: "POST",
        headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
        body: stream,
        duplex: "half",
      } as RequestInit),
      { params: Promise.resolve({} as never) },
    );
    assert.equal(response.status, 413);
    assert.ok(sent < 40, "the rest of the body is not read");
  });

  test("every page gets a CSP with frame-ancestors 'none', nosniff and a Referrer-Policy; HSTS only over https", async () => {
    const rules = await nextConfig.headers!();
    const all = rules.find((r) => r.source === "/:path*");
    assert.ok(all, "one rule for every path");
    const get = (name: string) => all.headers.find((h) => h.key.toLowerCase() === name)?.value;
    assert.match(get("content-security-policy") ?? "", /frame-ancestors 'none'/);
    assert.match(get("content-security-policy") ?? "", /default-src 'self'/);
    assert.equal(get("x-content-type-options"), "nosniff");
    assert.ok(get("referrer-policy"));

    const saved = process.env.APP_URL;
    const page = () => proxy(new NextRequest("http://localhost/sign-in")).headers.get("strict-transport-security");
    try {
      delete process.env.APP_URL;
      assert.equal(page(), null);
      process.env.APP_URL = "http://connector.example.test";
      assert.equal(page(), null);
      process.env.APP_URL = "https://connector.example.test";
      assert.match(page() ?? "", /max-age=\d+/);
      assert.match(
        proxy(new NextRequest("https://connector.example.test/")).headers.get("strict-transport-security") ?? "",
        /max-age/,
      );
    } finally {
      if (saved === undefined) delete process.env.APP_URL;
      else process.env.APP_URL = saved;
    }
  });

  test("first-run setup answers only from loopback unless SETUP_TOKEN is given", () => {
    const saved = process.env.SETUP_TOKEN;
    try {
      delete process.env.SETUP_TOKEN;
      assert.equal(setupAllowed(headersFor("127.0.0.1"), null), true);
      assert.equal(setupAllowed(headersFor("::1"), null), true);
      assert.equal(setupAllowed(headersFor("203.0.113.5"), null), false);
      assert.equal(setupAllowed(headersFor("203.0.113.5"), "guess"), false);

      process.env.SETUP_TOKEN = "a-setup-token-of-some-length";
      assert.equal(setupAllowed(headersFor("203.0.113.5"), null), false);
      assert.equal(setupAllowed(headersFor("203.0.113.5"), "a-setup-token-of-some-lengtx"), false);
      assert.equal(setupAllowed(headersFor("203.0.113.5"), "a-setup-token-of-some-length"), true);
      assert.equal(setupAllowed(headersFor("127.0.0.1"), null), true);
    } finally {
      if (saved === undefined) delete process.env.SETUP_TOKEN;
      else process.env.SETUP_TOKEN = saved;
    }
  });
});
