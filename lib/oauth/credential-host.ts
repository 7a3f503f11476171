import { providerWebUrl } from "./providers";

// A credential is bound to the origin that issued its token. Only GitLab lets a source choose
// its host (config.host), so only there can a token be pointed elsewhere; GitHub and Bitbucket
// sources always call the operator's configured hosts.

const GITLAB_DEFAULT = "https://gitlab.com";

const originOf = (url: string) => new URL(url).origin;

/** The origin a new credential is bound to: the host given with a GitLab token, else the configured one. */
export function issuingHost(provider: string, given?: string | null): string | null {
  if (provider !== "gitlab") return null;
  return originOf(given || providerWebUrl("gitlab"));
}

/**
 * Why `credential` may not be sent to a `type` source at `host` (config.host; unset: gitlab.com),
 * or null when it may. A credential stored without a host is bound to the configured GitLab.
 */
export function credentialHostMismatch(
  credential: { provider: string; host: string | null },
  type: string,
  host: unknown,
): string | null {
  if (credential.provider !== "gitlab" || type !== "gitlab") return null;
  const bound = originOf(credential.host ?? providerWebUrl("gitlab"));
  let wanted: string;
  try {
    wanted = originOf(typeof host === "string" && host ? host : GITLAB_DEFAULT);
  } catch {
    return "config.host is not a URL.";
  }
  if (bound === wanted) return null;
  return `The credential was issued by ${bound} and is never sent to ${wanted}. Connect an account (or store a token) of ${wanted}.`;
}
