import { hkdfSync } from "node:crypto";
import { getKeyring } from "@/lib/oauth/encryption";

/**
 * The secrets that sign and encrypt session cookies, newest first. AUTH_SECRET (comma-separated
 * for rotation) when set; otherwise derived from the encryption keyring, so a self-hosted
 * install needs no second secret. Rotating the keyring's current key signs everyone out only
 * once the old key leaves the ring.
 */
export function authSecrets(): string[] {
  const explicit = process.env.AUTH_SECRET?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (explicit && explicit.length > 0) return explicit;
  const ring = getKeyring();
  const ids = [ring.current, ...[...ring.keys.keys()].filter((k) => k !== ring.current)];
  return ids.map((kid) =>
    Buffer.from(
      hkdfSync("sha256", ring.keys.get(kid)!, Buffer.alloc(0), "data-connector session cookies", 32),
    ).toString("base64url"),
  );
}
