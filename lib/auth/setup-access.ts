import { createHash, timingSafeEqual } from "node:crypto";
import { clientAddress, isClientAddressKnown } from "./client-address";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1)$/;

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Whether this request may use first-run setup (creating the first admin): from loopback, or
 * with SETUP_TOKEN (which `npm start` prints when no user exists yet). Only server.ts knows the
 * client address; under `next start` or `next dev` the loopback rule cannot apply, so setup
 * there is open unless SETUP_TOKEN is set.
 */
export function setupAllowed(headers: Headers, token: string | null | undefined): boolean {
  const expected = process.env.SETUP_TOKEN?.trim();
  if (expected && token && timingSafeEqual(digest(token), digest(expected))) return true;
  if (!isClientAddressKnown()) return !expected;
  return LOOPBACK.test(clientAddress(headers));
}
