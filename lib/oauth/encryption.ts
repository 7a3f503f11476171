import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

// Tokens and secrets at rest: AES-256-GCM, a fresh 12-byte IV for every encryption, the row's
// id (or another binding the caller names) as associated data, and the key id stored with the
// ciphertext so that keys can be rotated: the first key of the ring encrypts, all decrypt.

export type Keyring = { current: string; keys: Map<string, Buffer> };

/** Where `npm start` writes the generated keyring when it runs the embedded database. */
export const GENERATED_KEYS_FILE = "encryption-keys";

const KID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** GCM's standard 96-bit IV and its full 128-bit tag: a shorter tag would be easier to forge. */
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Parses `kid:base64key,...`; every key must be 32 bytes. Throws a message an operator can act on. */
export function parseKeyring(value: string): Keyring {
  const keys = new Map<string, Buffer>();
  let current: string | null = null;
  for (const entry of value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const colon = entry.indexOf(":");
    const kid = colon > 0 ? entry.slice(0, colon) : "";
    if (!KID_PATTERN.test(kid)) {
      throw new Error(
        `ENCRYPTION_KEYS: each entry must be "kid:base64key" with a kid of letters, digits, - or _ (got an entry without one).`,
      );
    }
    const key = Buffer.from(entry.slice(colon + 1), "base64");
    if (key.length !== 32) {
      throw new Error(
        `ENCRYPTION_KEYS: key "${kid}" must be 32 bytes of base64 (got ${key.length}). Generate one with \`openssl rand -base64 32\`.`,
      );
    }
    if (keys.has(kid)) throw new Error(`ENCRYPTION_KEYS: key id "${kid}" appears twice.`);
    keys.set(kid, key);
    current ??= kid;
  }
  if (!current) throw new Error("ENCRYPTION_KEYS is empty.");
  return { current, keys };
}

/** A new keyring value with one random key, as `npm start` writes it for the embedded database. */
export function generateKeyringValue(): string {
  const kid = `k${new Date().toISOString().slice(0, 10).replaceAll("-", "")}${randomBytes(2).toString("hex")}`;
  return `${kid}:${randomBytes(32).toString("base64")}`;
}

const globalForKeys = globalThis as unknown as { dataConnectorKeyring?: { source: string; ring: Keyring } };

/**
 * The keyring from ENCRYPTION_KEYS, else from the file `npm start` generated into DATA_DIR.
 * Throws with what to set when there is neither.
 */
export function getKeyring(): Keyring {
  let value = process.env.ENCRYPTION_KEYS?.trim();
  if (!value) {
    const file = path.join(process.env.DATA_DIR || ".data", GENERATED_KEYS_FILE);
    if (existsSync(file)) value = readFileSync(file, "utf8").trim();
  }
  if (!value) {
    throw new Error(
      "ENCRYPTION_KEYS is not set. Set it to `kid:base64key` (a 32-byte key, e.g. `main:$(openssl rand -base64 32)`) to store provider tokens encrypted.",
    );
  }
  const cached = globalForKeys.dataConnectorKeyring;
  if (cached?.source === value) return cached.ring;
  const ring = parseKeyring(value);
  globalForKeys.dataConnectorKeyring = { source: value, ring };
  return ring;
}

/** Sealed form: `kid.iv.tag.ciphertext`, each part base64url. */
export function encryptSecret(plaintext: string, associatedData: string, ring: Keyring = getKeyring()): string {
  const key = ring.keys.get(ring.current)!;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(associatedData, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [ring.current, iv.toString("base64url"), tag.toString("base64url"), ciphertext.toString("base64url")].join(
    ".",
  );
}

export function keyIdOf(sealed: string): string {
  return sealed.slice(0, sealed.indexOf("."));
}

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecryptionError";
  }
}

/** Opens a sealed secret; fails when the key is gone, the data was altered or bound to another row. */
export function decryptSecret(sealed: string, associatedData: string, ring: Keyring = getKeyring()): string {
  const [kid, iv, tag, ciphertext] = sealed.split(".");
  if (!kid || !iv || !tag || ciphertext === undefined) throw new DecryptionError("The stored secret is malformed.");
  const key = ring.keys.get(kid);
  if (!key)
    throw new DecryptionError(`The stored secret was encrypted with key "${kid}", which is not in ENCRYPTION_KEYS.`);
  const ivBytes = Buffer.from(iv, "base64url");
  const tagBytes = Buffer.from(tag, "base64url");
  if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES)
    throw new DecryptionError("The stored secret is malformed.");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, ivBytes, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(associatedData, "utf8"));
    decipher.setAuthTag(tagBytes);
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    throw new DecryptionError("The stored secret could not be decrypted (altered, or bound to another record).");
  }
}
