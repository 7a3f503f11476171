import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ConnectorConfigError } from "@/lib/connectors/errors";
import { assertAllowedUrl, guardedFetch, isInternalAddress, setHostResolver } from "@/lib/connectors/host-guard";
import { startHttpFake } from "./fakes/http-fake";

let fake: Awaited<ReturnType<typeof startHttpFake>>;
const saved = process.env.ALLOWED_PRIVATE_HOSTS;

describe("host guard (user-supplied provider URLs)", () => {
  before(async () => {
    fake = await startHttpFake((req, res) => {
      if (req.path === "/to-metadata")
        res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" }).end();
      else if (req.path === "/to-self") res.writeHead(302, { location: "/ok" }).end();
      else if (req.path === "/silent") res.on("close", () => {});
      else if (req.path === "/endless") {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        const chunk = Buffer.alloc(64 * 1024, 120);
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
        };
        res.on("drain", pump);
        pump();
      } else res.writeHead(200, { "content-type": "text/plain" }).end(req.headers.authorization ?? "none");
    });
  });
  after(async () => {
    process.env.ALLOWED_PRIVATE_HOSTS = saved;
    await fake.close();
  });

  test("loopback, link-local, private and mapped addresses are internal; public ones are not", () => {
    for (const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.20.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "::1",
      "fe80::1",
      "fd00::1",
      "::ffff:127.0.0.1",
      "0.0.0.0",
    ]) {
      assert.equal(isInternalAddress(a), true, a);
    }
    for (const a of ["140.82.112.3", "2606:50c0:8000::153"]) assert.equal(isInternalAddress(a), false, a);
  });

  test("IPv4-compatible, NAT64, 6to4 and Azure's platform address are internal", () => {
    for (const a of [
      "::127.0.0.1",
      "::7f00:1",
      "::ffff:7f00:1",
      "::a9fe:a9fe",
      "64:ff9b::7f00:1",
      "64:ff9b::8.8.8.8",
      "2002:7f00:1::1",
      "2002:c0a8:101::",
      "168.63.129.16",
    ]) {
      assert.equal(isInternalAddress(a), true, a);
    }
  });

  test("a name that resolves to a public address at the check and to loopback at connect is refused at connect", async () => {
    delete process.env.ALLOWED_PRIVATE_HOSTS;
    let answers = 0;
    // The first answer (the check) is public; every later one (the connection) is the fake on loopback.
    setHostResolver(async () => (answers++ === 0 ? ["93.184.216.34"] : ["127.0.0.1"]));
    const before = fake.requests.length;
    try {
      const port = new URL(fake.base).port;
      await assert.rejects(
        guardedFetch(`http://rebind.example:${port}/ok`, { headers: { authorization: "Bearer secret" } }),
        (err: Error) => err instanceof ConnectorConfigError && /loopback, link-local or private/.test(err.message),
      );
      assert.ok(answers >= 2, "the name was resolved again at connect");
      assert.equal(fake.requests.length, before, "no request reached the loopback server");
    } finally {
      setHostResolver(null);
    }
  });

  test("a provider that never answers fails after PROVIDER_TIMEOUT_SECONDS", async () => {
    process.env.ALLOWED_PRIVATE_HOSTS = new URL(fake.base).host;
    process.env.PROVIDER_TIMEOUT_SECONDS = "0.5";
    try {
      const started = Date.now();
      await assert.rejects(guardedFetch(`${fake.base}/silent`), /did not answer within 0\.5 s/);
      assert.ok(Date.now() - started < 10_000);
    } finally {
      delete process.env.PROVIDER_TIMEOUT_SECONDS;
    }
  });

  test("an endless response body is cut at PROVIDER_MAX_RESPONSE_MB", async () => {
    process.env.ALLOWED_PRIVATE_HOSTS = new URL(fake.base).host;
    process.env.PROVIDER_MAX_RESPONSE_MB = "1";
    try {
      const response = await guardedFetch(`${fake.base}/endless`);
      await assert.rejects(response.arrayBuffer(), /larger than 1 MB/);
    } finally {
      delete process.env.PROVIDER_MAX_RESPONSE_MB;
    }
  });

  test("non-http schemes and internal hosts are refused with a message naming ALLOWED_PRIVATE_HOSTS", async () => {
    delete process.env.ALLOWED_PRIVATE_HOSTS;
    await assert.rejects(assertAllowedUrl(new URL("file:///etc/passwd")), /use http or https/);
    await assert.rejects(assertAllowedUrl(new URL("gopher://example.com")), ConnectorConfigError);
    await assert.rejects(assertAllowedUrl(new URL("http://127.0.0.1:8080/")), /ALLOWED_PRIVATE_HOSTS/);
    await assert.rejects(assertAllowedUrl(new URL("http://localhost/")), /loopback/);
    await assert.rejects(assertAllowedUrl(new URL("http://[::1]/")), /ALLOWED_PRIVATE_HOSTS/);
    process.env.ALLOWED_PRIVATE_HOSTS = "127.0.0.1:8080, gitlab.internal";
    await assertAllowedUrl(new URL("http://127.0.0.1:8080/api"));
    await assert.rejects(assertAllowedUrl(new URL("http://127.0.0.1:9090/api")), /ALLOWED_PRIVATE_HOSTS/);
  });

  test("every redirect is checked again; credentials do not follow a redirect to another origin", async () => {
    process.env.ALLOWED_PRIVATE_HOSTS = new URL(fake.base).host;
    await assert.rejects(
      guardedFetch(`${fake.base}/to-metadata`),
      /169\.254\.169\.254 resolves to a loopback, link-local or private address/,
    );
    const same = await guardedFetch(`${fake.base}/to-self`, { headers: { authorization: "Bearer secret" } });
    assert.equal(await same.text(), "Bearer secret", "same origin keeps the credential");
    delete process.env.ALLOWED_PRIVATE_HOSTS;
    await assert.rejects(guardedFetch(`${fake.base}/ok`), /ALLOWED_PRIVATE_HOSTS/);
  });
});
