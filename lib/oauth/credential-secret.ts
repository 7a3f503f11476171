import { z } from "zod";
import { decryptSecret, encryptSecret, keyIdOf, type Keyring } from "./encryption";

/** What a credential's sealed `secret` column holds once opened. */
export const credentialSecret = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1).optional(),
  /** Bitbucket API tokens authenticate as `username:token` (the Atlassian account email). */
  username: z.string().min(1).optional(),
});
export type CredentialSecret = z.infer<typeof credentialSecret>;

/** The row id is the associated data: a ciphertext moved to another row no longer opens. */
export function credentialAad(credentialId: string): string {
  return `credentials:${credentialId}`;
}

export function sealCredentialSecret(
  credentialId: string,
  secret: CredentialSecret,
  ring?: Keyring,
): { secret: string; keyId: string } {
  const sealed = encryptSecret(JSON.stringify(credentialSecret.parse(secret)), credentialAad(credentialId), ring);
  return { secret: sealed, keyId: keyIdOf(sealed) };
}

export function openCredentialSecret(row: { id: string; secret: string }, ring?: Keyring): CredentialSecret {
  return credentialSecret.parse(JSON.parse(decryptSecret(row.secret, credentialAad(row.id), ring)));
}
