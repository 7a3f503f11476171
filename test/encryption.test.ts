import assert from "node:assert/strict";
import { after, beforeEach, describe, test } from "node:test";
import { eq } from "drizzle-orm";
import { credentials } from "@/lib/db/schema";
import { openCredentialSecret, sealCredentialSecret } from "@/lib/oauth/credential-secret";
import {
  DecryptionError,
  decryptSecret,
  encryptSecret,
  getKeyring,
  keyIdOf,
  parseKeyring,
} from "@/lib/oauth/encryption";
import { getAccessToken } from "@/lib/oauth/get-access-token";
import { getBoss } from "@/lib/queue/boss";
import { QUEUES } from "@/lib/queue/names";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { closeAll, db, resetDb, signedInUser, waitFor } from "./helpers";

/** Flips one bit of one byte of the given part (1 = iv, 2 = tag, 3 = ciphertext) of a sealed value. */
function flip(sealed: string, part: 1 | 2 | 3, byte = 0): string {
  const parts = sealed.split(".");
  const bytes = Buffer.from(parts[part]!, "base64url");
  bytes[byte] = bytes[byte]! ^ 0x01;
  parts[part] = bytes.toString("base64url");
  return parts.join(".");
}

async function insertCredential(userId: string, accessToken: string, ring = getKeyring()): Promise<string> {
  const id = crypto.randomUUID();
  await db()
    .insert(credentials)
    .values({ id, userId, provider: "github", kind: "pat", ...sealCredentialSecret(id, { accessToken }, ring) });
  return id;
}

describe("tokens at rest", () => {
  beforeEach(() => resetDb());
  after(() => closeAll());

  test("flipping a byte of the IV, the tag or the ciphertext makes decryption fail", () => {
    const sealed = encryptSecret("ghp_secret-value", "credentials:1");
    assert.equal(decryptSecret(sealed, "credentials:1"), "ghp_secret-value");
    for (const part of [1, 2, 3] as const) {
      for (const byte of [0, 5]) {
        assert.throws(
          () => decryptSecret(flip(sealed, part, byte), "credentials:1"),
          DecryptionError,
          `part ${part} byte ${byte}`,
        );
      }
    }
    assert.throws(() => decryptSecret(sealed, "credentials:2"), DecryptionError, "bound to its row");
    assert.throws(() => decryptSecret("test.abc", "credentials:1"), /malformed/);
  });

  test("only a 12-byte IV and a full 16-byte tag are accepted: a truncated tag of the right value is refused", () => {
    const sealed = encryptSecret("ghp_secret-value", "credentials:1");
    const [kid, iv, tag, ciphertext] = sealed.split(".") as [string, string, string, string];
    const tagBytes = Buffer.from(tag, "base64url");
    assert.equal(tagBytes.length, 16);
    for (const length of [4, 8, 12, 15]) {
      const truncated = [kid, iv, tagBytes.subarray(0, length).toString("base64url"), ciphertext].join(".");
      assert.throws(() => decryptSecret(truncated, "credentials:1"), /malformed/, `a ${length}-byte tag`);
    }
    const longIv = [kid, Buffer.alloc(16, 1).toString("base64url"), tag, ciphertext].join(".");
    assert.throws(() => decryptSecret(longIv, "credentials:1"), /malformed/, "a 16-byte IV");
    assert.throws(() => decryptSecret([kid, "", tag, ciphertext].join("."), "credentials:1"), /malformed/);
  });

  test("two encryptions of one token differ (fresh IV each time)", () => {
    const a = encryptSecret("same token", "credentials:1");
    const b = encryptSecret("same token", "credentials:1");
    assert.notEqual(a, b);
    assert.notEqual(a.split(".")[1], b.split(".")[1], "different IVs");
    assert.equal(keyIdOf(a), "test");
  });

  test("swapping two rows' ciphertexts makes both fail to decrypt", async () => {
    const user = await signedInUser("swap@example.com");
    const one = await insertCredential(user.id, "token-one");
    const two = await insertCredential(user.id, "token-two");
    const [r1] = await db().select().from(credentials).where(eq(credentials.id, one));
    const [r2] = await db().select().from(credentials).where(eq(credentials.id, two));
    await db().update(credentials).set({ secret: r2!.secret }).where(eq(credentials.id, one));
    await db().update(credentials).set({ secret: r1!.secret }).where(eq(credentials.id, two));
    await assert.rejects(getAccessToken(one), DecryptionError);
    await assert.rejects(getAccessToken(two), DecryptionError);
  });

  test("after rotation old rows still read, and the re-encryption job moves them all to the new key", async () => {
    const user = await signedInUser("rotate@example.com");
    // Rows written while "old" was the current key (the test ring is "test" first, then "old").
    const ring = getKeyring();
    const before = parseKeyring(`old:${ring.keys.get("old")!.toString("base64")}`);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await insertCredential(user.id, `token-${i}`, before));
    ids.push(await insertCredential(user.id, "token-new"));
    const keyIds = async () =>
      (await db().select({ keyId: credentials.keyId }).from(credentials)).map((r) => r.keyId).sort();
    assert.deepEqual(await keyIds(), ["old", "old", "old", "old", "old", "test"]);
    for (let i = 0; i < 5; i++) assert.equal(await getAccessToken(ids[i]!), `token-${i}`, "an old row still reads");

    let worker: RunningWorker | null = null;
    try {
      worker = await startWorker({ watch: false });
      await (await getBoss()).send(QUEUES.reencryptCredentials, {});
      await waitFor(async () => (await keyIds()).every((k) => k === "test"), { what: "every row on the current key" });
    } finally {
      await worker?.stop({ timeout: 5000 });
    }
    // Now the old key can leave the ring: every row opens with the current key alone.
    const onlyCurrent = parseKeyring(`test:${ring.keys.get("test")!.toString("base64")}`);
    const rows = await db().select().from(credentials);
    const tokens = rows.map((row) => openCredentialSecret(row, onlyCurrent).accessToken).sort();
    assert.deepEqual(tokens, ["token-0", "token-1", "token-2", "token-3", "token-4", "token-new"]);
  });
});
