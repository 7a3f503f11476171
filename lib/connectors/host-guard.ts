import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { ConnectorConfigError } from "./errors";

// Server-side request forgery guard for provider URLs. A URL is checked before the request
// and again at every redirect: http or https only, and no loopback, link-local, private or
// otherwise internal address unless ALLOWED_PRIVATE_HOSTS lists the host (or host:port).
// Hosts of the operator's own *_API_URL / *_URL variables are trusted the same way: the
// operator, not a user, typed them.

const INTERNAL = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  INTERNAL.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  INTERNAL.addSubnet(net, prefix, "ipv6");
}

/** True for loopback, link-local, private, shared, multicast and unspecified addresses. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return INTERNAL.check(address, "ipv4");
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return INTERNAL.check(mapped[1]!, "ipv4");
  return INTERNAL.check(address, "ipv6");
}

const TRUSTED_URL_VARIABLES = ["GITHUB_API_URL", "BITBUCKET_API_URL", "BITBUCKET_URL", "GITHUB_URL", "GITLAB_URL"];

function hostKeys(url: URL): string[] {
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return [host, `${host}:${port}`];
}

/** `host` and `host:port` entries that may resolve to internal addresses. */
function allowedHosts(): Set<string> {
  const allowed = new Set(
    (process.env.ALLOWED_PRIVATE_HOSTS ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  for (const name of TRUSTED_URL_VARIABLES) {
    const value = process.env[name];
    if (!value) continue;
    try {
      allowed.add(hostKeys(new URL(value))[1]!);
    } catch {
      // A malformed variable is reported where it is used.
    }
  }
  return allowed;
}

/** Throws a ConnectorConfigError naming the field when `url` may not be called. */
export async function assertAllowedUrl(url: URL, field = "host"): Promise<void> {
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConnectorConfigError(`${url.protocol.replace(/:$/, "")} URLs are not allowed: use http or https.`, field);
  }
  const [host, hostPort] = hostKeys(url);
  const allowed = allowedHosts();
  if (allowed.has(host!) || allowed.has(hostPort!)) return;
  const addresses = isIP(host!)
    ? [host!]
    : await lookup(host!, { all: true, verbatim: true }).then(
        (found) => found.map((a) => a.address),
        () => {
          throw new ConnectorConfigError(
            `The host ${host} could not be resolved. Check the spelling of the URL.`,
            field,
          );
        },
      );
  if (addresses.some(isInternalAddress)) {
    throw new ConnectorConfigError(
      `${host} resolves to a loopback, link-local or private address, which sources may not reach. An operator can allow it by adding "${host}" or "${hostPort}" to ALLOWED_PRIVATE_HOSTS.`,
      field,
    );
  }
}

const MAX_REDIRECTS = 5;

/**
 * fetch() that checks the URL before the request and at every redirect. Credentials
 * (Authorization, PRIVATE-TOKEN) are dropped when a redirect leaves the original origin,
 * as browsers do: archive download hosts carry their own signed URLs.
 */
export async function guardedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  let request = new Request(input, init);
  let url = new URL(request.url);
  const origin = url.origin;
  for (let hop = 0; ; hop++) {
    await assertAllowedUrl(url);
    const response = await fetch(request, { redirect: "manual" });
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || response.status === 304 || !location) return response;
    if (hop >= MAX_REDIRECTS) throw new ConnectorConfigError(`Too many redirects from ${origin}.`, "host");
    await response.body?.cancel();
    url = new URL(location, url);
    const headers = new Headers(request.headers);
    if (url.origin !== origin) {
      headers.delete("authorization");
      headers.delete("private-token");
    }
    const method = response.status === 303 || request.method === "POST" ? "GET" : request.method;
    if (method !== "GET" && method !== "HEAD") return response;
    request = new Request(url, { method, headers, signal: request.signal });
  }
}
