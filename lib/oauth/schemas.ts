import { z } from "zod";

/** What the API and the pages show of a credential: never the secret, nor its key id. */
export const credentialSchema = z.object({
  id: z.uuid(),
  provider: z.string(),
  kind: z.enum(["oauth", "pat", "api_token"]),
  accountId: z.string().nullable(),
  accountName: z.string().nullable(),
  /** GitLab: the origin that issued the token, the only host it is sent to. */
  host: z.string().nullable(),
  scopes: z.string().nullable(),
  expiresAt: z.string().nullable(),
  status: z.enum(["active", "needs_reauth"]),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type CredentialDto = z.infer<typeof credentialSchema>;

export const credentialIdParams = z.object({ id: z.uuid({ error: "The credential id must be a UUID." }) });

export const TOKEN_PROVIDERS = ["github", "gitlab", "bitbucket"] as const;

export const createCredentialBody = z
  .object({
    provider: z.enum(TOKEN_PROVIDERS, {
      error: "provider must be github, gitlab or bitbucket (Google Drive and Dropbox connect with OAuth).",
    }),
    token: z.string({ error: "token is required" }).trim().min(1, "token is required").max(4096),
    accountName: z.string().trim().min(1).max(255).optional(),
    username: z
      .string()
      .trim()
      .min(1)
      .max(255)
      .optional()
      .describe("Bitbucket: the Atlassian account email the API token belongs to"),
    host: z
      .url({ protocol: /^https?$/, error: "host must be the http(s) URL of the GitLab instance that issued the token" })
      .optional()
      .describe("GitLab: the instance that issued the token (default https://gitlab.com); it is sent nowhere else"),
  })
  .refine((b) => b.provider === "gitlab" || !b.host, {
    message: "host is only for GitLab tokens.",
    path: ["host"],
  })
  .refine((b) => b.provider !== "bitbucket" || b.username, {
    message: "username is required for a Bitbucket API token (the email of the Atlassian account).",
    path: ["username"],
  });
export type CreateCredentialBody = z.infer<typeof createCredentialBody>;

export const credentialResponse = z.object({ credential: credentialSchema });
export const listCredentialsResponse = z.object({ credentials: z.array(credentialSchema) });
