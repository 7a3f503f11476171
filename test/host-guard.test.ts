import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ConnectorConfigError } from "@/lib/connectors/errors";
import { assertAllowedUrl, guardedFetch, isInternalAddress } from "@/lib/connectors/host-guard";
import { startHttpFake } from "./fakes/http-fake";

let fake: Awaited<ReturnType<typeof startHttpFake>>;
const saved = process.env.ALLOWED_PRIVATE_HOSTS;

describe("host guard (user-supplied provider URLs)", () => {
  before(async () => {
    fake = await startHttpFake((req, res) => {
      if (req.path === "/to-metadata")
        res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" }).end();
      else if (req.path === "/to-self") res.writeHead(302, { location: "/ok" }).end();
      else res.writeHead(200, { "content-type": "text/plain" }).end(req.headers.authorization ?? "none");
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
