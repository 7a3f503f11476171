import { eq, ne } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { credentials } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import { openCredentialSecret, sealCredentialSecret } from "./credential-secret";
import { getKeyring } from "./encryption";
import { errorField, logger } from "@/lib/log";

/**
 * Re-encrypts every credential not sealed with the current key (the first of ENCRYPTION_KEYS).
 * Each row is locked, opened with its own key and sealed again with a fresh IV; running it
 * twice changes nothing the second time. Returns how many rows moved.
 */
export async function reencryptCredentials(): Promise<{ moved: number; failed: number }> {
  const ring = getKeyring();
  const stale = await getDb()
    .select({ id: credentials.id })
    .from(credentials)
    .where(ne(credentials.keyId, ring.current));
  let moved = 0;
  let failed = 0;
  for (const { id } of stale) {
    try {
      const done = await withTransaction(async (tx) => {
        const [row] = await tx.select().from(credentials).where(eq(credentials.id, id)).for("update");
        if (!row || row.keyId === ring.current) return false;
        await tx
          .update(credentials)
          .set(sealCredentialSecret(row.id, openCredentialSecret(row, ring), ring))
          .where(eq(credentials.id, id));
        return true;
      });
      if (done) moved++;
    } catch (err) {
      // A row that cannot be opened (its key left the ring) stays as it is; the others still move.
      failed++;
      logger.error({ credentialId: id, error: errorField(err) }, "credential could not be re-encrypted");
    }
  }
  return { moved, failed };
}
