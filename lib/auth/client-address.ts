import { BlockList, isIP } from "node:net";

/** The header server.ts sets on every request to the client address it resolved. */
export const CLIENT_ADDRESS_HEADER = "x-dc-client-ip";
const MARKED = Symbol.for("data-connector.client-address-marked");

const globalMark = globalThis as unknown as { [MARKED]?: boolean };

/** Strips IPv4-mapped IPv6 (`::ffff:1.2.3.4`) and brackets; null when the value is not an IP address. */
function normalise(address: string | undefined): string | null {
  const value = address?.trim().replace(/^\[(.*)\]$/, "$1") ?? "";
  const unmapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(value)?.[1] ?? value;
  return isIP(unmapped) ? unmapped : null;
}

let cachedProxies: { source: string; list: BlockList } | null = null;

/**
 * TRUSTED_PROXIES: comma-separated addresses or CIDRs of the proxies in front of the app
 * (default none). Throws with what is wrong, so server.ts can refuse to start with a bad value.
 */
export function trustedProxies(): BlockList {
  const source = process.env.TRUSTED_PROXIES?.trim() ?? "";
  if (cachedProxies?.source === source) return cachedProxies.list;
  const list = new BlockList();
  for (const entry of source
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [address, prefix, extra] = entry.split("/");
    const ip = normalise(address);
    const family = ip && isIP(ip) === 6 ? "ipv6" : "ipv4";
    const bits = prefix === undefined ? null : Number(prefix);
    const maxBits = family === "ipv6" ? 128 : 32;
    if (!ip || extra !== undefined || (bits !== null && !(Number.isInteger(bits) && bits >= 0 && bits <= maxBits))) {
      throw new Error(
        `TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8, 192.0.2.1, fd00::/8).`,
      );
    }
    if (bits === null) list.addAddress(ip, family);
    else list.addSubnet(ip, bits, family);
  }
  cachedProxies = { source, list };
  return list;
}

function isTrusted(address: string): boolean {
  return trustedProxies().check(address, isIP(address) === 6 ? "ipv6" : "ipv4");
}

/**
 * The client's address: the socket's peer, unless that peer is a trusted proxy, in which case
 * the X-Forwarded-For entries are read from the right (the nearest hop) for as long as each
 * hop is itself a trusted proxy. Entries a client wrote further left are never reached.
 */
export function resolveClientAddress(socketAddress: string | undefined, forwardedFor: string | undefined): string {
  let client = normalise(socketAddress) ?? "unknown";
  const hops = (forwardedFor ?? "").split(",").map((s) => s.trim());
  while (client !== "unknown" && isTrusted(client) && hops.length > 0) {
    const next = normalise(hops.pop());
    if (!next) break;
    client = next;
  }
  return client;
}

/**
 * Called by server.ts for every request before Next sees it: overwrites the client-address
 * header with the resolved address (whatever the client sent under that name) and records that
 * this process sets it. Without server.ts (`next start`, `next dev`) the header is ignored.
 */
export function markClientAddress(
  headers: Record<string, string | string[] | undefined>,
  socketAddress: string | undefined,
): void {
  const forwarded = headers["x-forwarded-for"];
  headers[CLIENT_ADDRESS_HEADER] = resolveClientAddress(
    socketAddress,
    Array.isArray(forwarded) ? forwarded.join(",") : forwarded,
  );
  globalMark[MARKED] = true;
}

/** Whether server.ts names the client of each request (false under `next start` and `next dev`). */
export function isClientAddressKnown(): boolean {
  return globalMark[MARKED] === true;
}

/**
 * The client address for per-address limits, as server.ts resolved it. Under `next start` or
 * `next dev` nothing trustworthy names the client, so every request counts as "unknown".
 */
export function clientAddress(headers: Headers): string {
  if (!isClientAddressKnown()) return "unknown";
  return normalise(headers.get(CLIENT_ADDRESS_HEADER) ?? undefined) ?? "unknown";
}
