import { lookup } from "node:dns/promises";
import { BlockList, isIP, type LookupFunction, type Socket } from "node:net";
import { Agent, buildConnector } from "undici";
import { ConnectorConfigError, ConnectorError, ConnectorSyncError } from "./errors";
import { providerLimits } from "./provider-limits";
import { countProviderRequest } from "@/lib/metrics/counters";

// Server-side request forgery guard for provider URLs. A URL is checked before the request
// and again at every redirect: http or https only, and no loopback, link-local, private or
// otherwise internal address unless ALLOWED_PRIVATE_HOSTS lists the host (or host:port).
// Hosts of the operator's own *_API_URL / *_URL variables are trusted the same way: the
// operator, not a user, typed them.
//
// The name is resolved again when fetch connects, so a host whose DNS answer changes between
// the check and the connection (DNS rebinding) would slip past a check made only beforehand:
// guardedFetch's dispatcher resolves through the same rule and refuses the socket whose peer
// address is internal. Every request also has a time limit and every body a byte limit.

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
  // Azure's platform endpoint (wire server): metadata and extension secrets.
  ["168.63.129.16", 32],
] as const) {
  INTERNAL.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  // Unspecified, loopback and the deprecated IPv4-compatible ::a.b.c.d.
  ["::", 96],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
  // NAT64 and 6to4 embed an IPv4 address that may be an internal one.
  ["64:ff9b::", 96],
  ["64:ff9b:1::", 48],
  ["2002::", 16],
] as const) {
  INTERNAL.addSubnet(net, prefix, "ipv6");
}

/** True for loopback, link-local, private, shared, multicast and unspecified addresses. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return INTERNAL.check(address, "ipv4");
  if (family !== 6) return true;
  const embedded = embeddedIpv4(address);
  if (embedded !== null && INTERNAL.check(embedded, "ipv4")) return true;
  return INTERNAL.check(address, "ipv6");
}

/** The IPv4 address in an IPv4-mapped (`::ffff:a.b.c.d`) or IPv4-compatible (`::a.b.c.d`) address. */
function embeddedIpv4(address: string): string | null {
  const words = expandIpv6(address);
  if (!words || words.slice(0, 5).some((w) => w !== 0) || (words[5] !== 0 && words[5] !== 0xffff)) return null;
  return [words[6]! >> 8, words[6]! & 0xff, words[7]! >> 8, words[7]! & 0xff].join(".");
}

/** The eight 16-bit words of an IPv6 address (dotted IPv4 tails included), or null. */
function expandIpv6(address: string): number[] | null {
  let text = address.toLowerCase().replace(/%.*$/, "");
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const part = (s: string | undefined) => (s ? s.split(":").map((w) => parseInt(w, 16)) : []);
  const left = part(head);
  const right = part(tail);
  const words = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : null;
}

const TRUSTED_URL_VARIABLES = [
  "GITHUB_API_URL",
  "BITBUCKET_API_URL",
  "BITBUCKET_URL",
  "GITHUB_URL",
  "GITLAB_URL",
  "GOOGLE_API_URL",
  "GOOGLE_OAUTH_URL",
  "DROPBOX_API_URL",
  "DROPBOX_OAUTH_URL",
];

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

export type HostResolver = (hostname: string) => Promise<string[]>;

const systemResolver: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);
let resolveHost = systemResolver;

/** Replaces DNS for the check and the connection alike (tests); null restores the system's. */
export function setHostResolver(resolver: HostResolver | null): void {
  resolveHost = resolver ?? systemResolver;
}

function isAllowedHost(url: URL): boolean {
  const [host, hostPort] = hostKeys(url);
  const allowed = allowedHosts();
  return allowed.has(host!) || allowed.has(hostPort!);
}

function internalHostError(url: URL, field = "host"): ConnectorConfigError {
  const [host, hostPort] = hostKeys(url);
  return new ConnectorConfigError(
    `${host} resolves to a loopback, link-local or private address, which sources may not reach. An operator can allow it by adding "${host}" or "${hostPort}" to ALLOWED_PRIVATE_HOSTS.`,
    field,
  );
}

/** Throws a ConnectorConfigError naming the field when `url` may not be called. */
export async function assertAllowedUrl(url: URL, field = "host"): Promise<void> {
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConnectorConfigError(`${url.protocol.replace(/:$/, "")} URLs are not allowed: use http or https.`, field);
  }
  if (url.username || url.password) {
    throw new ConnectorConfigError(
      "A provider URL must not carry a user name or password; send the token instead.",
      field,
    );
  }
  if (isAllowedHost(url)) return;
  const [host] = hostKeys(url);
  const addresses = isIP(host!)
    ? [host!]
    : await resolveHost(host!).then(
        (found) => found,
        () => {
          throw new ConnectorConfigError(
            `The host ${host} could not be resolved. Check the spelling of the URL.`,
            field,
          );
        },
      );
  if (addresses.length === 0 || addresses.some(isInternalAddress)) throw internalHostError(url, field);
}

/** net.connect's lookup through resolveHost, failing when any address of the name is internal. */
function checkedLookup(url: URL): LookupFunction {
  return (hostname, options, callback) => {
    resolveHost(hostname)
      .then(
        (found) => {
          if (found.length === 0 || found.some(isInternalAddress)) throw internalHostError(url);
          const wanted = options.family ? found.filter((a) => isIP(a) === options.family) : found;
          if (wanted.length === 0) throw new ConnectorSyncError(`${hostname} has no address of the wanted family.`);
          if (options.all)
            callback(
              null,
              wanted.map((address) => ({ address, family: isIP(address) })),
            );
          else callback(null, wanted[0]!, isIP(wanted[0]!));
        },
        () => callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" }), ""),
      )
      .catch((err: NodeJS.ErrnoException) => callback(err, ""));
  };
}

const connectors = new Map<string, buildConnector.connector>();

/**
 * Opens provider connections: an operator-allowed host as it is, any other one through
 * checkedLookup, and in both cases the peer actually connected to is checked again (an IP
 * literal host never goes through a lookup).
 */
function guardedConnect(options: buildConnector.Options, callback: buildConnector.Callback): void {
  const url = new URL(`${options.protocol}//${options.host ?? `${options.hostname}:${options.port}`}`);
  if (isAllowedHost(url)) {
    plainConnector()(options, callback);
    return;
  }
  const key = url.origin;
  let connect = connectors.get(key);
  if (!connect) {
    if (connectors.size > 1000) connectors.clear();
    connect = buildConnector({ lookup: checkedLookup(url) });
    connectors.set(key, connect);
  }
  connect(options, (err, socket) => {
    if (err) return callback(err, null);
    const peer = (socket as Socket).remoteAddress;
    if (!peer || isInternalAddress(peer)) {
      socket.destroy();
      return callback(internalHostError(url), null);
    }
    callback(null, socket);
  });
}

let plain: buildConnector.connector | null = null;
const plainConnector = () => (plain ??= buildConnector({}));

let agent: { timeoutMs: number; dispatcher: Agent } | null = null;

/** The dispatcher of every provider request; rebuilt when the configured timeout changes. */
function providerDispatcher(timeoutMs: number): Agent {
  if (agent?.timeoutMs !== timeoutMs) {
    void agent?.dispatcher.close().catch(() => {});
    agent = {
      timeoutMs,
      dispatcher: new Agent({ connect: guardedConnect, headersTimeout: timeoutMs, bodyTimeout: timeoutMs }),
    };
  }
  return agent.dispatcher;
}

/** A body that fails once more than `maxBytes` have arrived (the rest is never read). */
function capBody(body: ReadableStream<Uint8Array>, maxBytes: number, host: string): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > maxBytes) controller.error(tooLarge(host, maxBytes));
        else controller.enqueue(chunk);
      },
    }),
  );
}

const tooLarge = (host: string, maxBytes: number) =>
  new ConnectorError(
    `${host} sent a response larger than ${Math.round(maxBytes / 1024 / 1024)} MB, the limit for one provider answer (PROVIDER_MAX_RESPONSE_MB).`,
  );

/** The connector error a failed fetch stands for, or the failure itself. */
function fetchFailure(err: unknown, url: URL, timeoutMs: number): unknown {
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof ConnectorError) return cause;
  const name = (err as Error).name;
  const code = (cause as { code?: string } | undefined)?.code;
  if (name === "TimeoutError" || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_CONNECT_TIMEOUT")
    return new ConnectorSyncError(`${url.host} did not answer within ${timeoutMs / 1000} s.`);
  return err;
}

export type GuardedFetchOptions = {
  /**
   * An archive download: no limit on its total time or size, but every part must follow
   * the last within the timeout (its entries are capped by the reader).
   */
  stream?: boolean;
  /** The provider label of the request in dc_provider_requests_total (a source type, or the OAuth provider). */
  provider?: string;
};

const MAX_REDIRECTS = 5;

/**
 * fetch() that checks the URL before the request, the address it connects to, and every
 * redirect. Credentials (Authorization, PRIVATE-TOKEN) are dropped when a redirect leaves
 * the original origin, as browsers do: archive download hosts carry their own signed URLs.
 * A request has PROVIDER_TIMEOUT_SECONDS to complete, body included, and a body over
 * PROVIDER_MAX_RESPONSE_MB fails while it is read (archives: see GuardedFetchOptions).
 */
export async function guardedFetch(
  input: string | URL | Request,
  init?: RequestInit,
  options: GuardedFetchOptions = {},
): Promise<Response> {
  const limits = providerLimits();
  if (!(input instanceof Request)) await assertAllowedUrl(new URL(input));
  let request = new Request(input, init);
  let url = new URL(request.url);
  const origin = url.origin;
  const signal = options.stream
    ? request.signal
    : AbortSignal.any([request.signal, AbortSignal.timeout(limits.timeoutMs)]);
  for (let hop = 0; ; hop++) {
    await assertAllowedUrl(url);
    let response: Response;
    try {
      response = await fetch(request, {
        redirect: "manual",
        signal,
        dispatcher: providerDispatcher(limits.timeoutMs),
      } as RequestInit);
    } catch (err) {
      countProviderRequest(options.provider ?? "other", 0);
      throw fetchFailure(err, url, limits.timeoutMs);
    }
    countProviderRequest(options.provider ?? "other", response.status);
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || response.status === 304 || !location)
      return options.stream ? response : withCappedBody(response, url, limits.maxResponseBytes);
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

function withCappedBody(response: Response, url: URL, maxBytes: number): Response {
  if (!response.body || response.status === 204 || response.status === 304) return response;
  if (Number(response.headers.get("content-length")) > maxBytes) {
    void response.body.cancel();
    throw tooLarge(url.host, maxBytes);
  }
  const capped = new Response(capBody(response.body, maxBytes, url.host), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  Object.defineProperty(capped, "url", { value: response.url });
  return capped;
}
