import { createHash, createHmac } from "node:crypto";
import { z } from "zod";
import { countWebhook } from "@/lib/metrics/counters";
import { openWebhookSecret } from "@/lib/oauth/provider-token";
import type { WebhookProvider } from "./callback-url";
import { gitPayloadSummary } from "./git-payload-summary";
import { readWebhookBody } from "./read-webhook-body";
import { recordWebhookEvent } from "./record-webhook-event";
import { WebhookRefusal } from "./refusals";
import { safeEqual } from "@/lib/safe-equal";
import { candidateKey, webhookCandidates, type Candidate } from "./webhook-candidates";

/** GitHub caps payloads at 25 MB; anything larger is not a provider's. */
export const MAX_WEBHOOK_BODY = 25 * 1024 * 1024;

type ProviderRules = {
  signatureHeaders: string[];
  eventHeader: string;
  deliveryHeaders: string[];
  /**
   * The repository the event is about: its name as stored in config.repo and the provider's id
   * of it (GitHub repository.id, GitLab project.id, Bitbucket repository.uuid) as in config.repoId.
   */
  repository(payload: unknown): Target | null;
  /** Branches a push updated; null when the event is not a push. */
  pushedBranches(event: string, payload: unknown): string[] | null;
  isPing(event: string): boolean;
};

type Target = { repo: string; id?: string; host?: string };

const refBranch = (ref: string) => (ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : null);

// Built once: a zod schema compiles itself on first use, and building one per request cost
// more than parsing with it.
const githubRepositoryPayload = z.object({
  repository: z.object({ full_name: z.string(), id: z.number().int().optional() }),
});
const bitbucketRepositoryPayload = z.object({
  repository: z.object({ full_name: z.string(), uuid: z.string().optional() }),
});
const refPayload = z.object({ ref: z.string() });
const gitlabProjectPayload = z.object({
  project: z.object({
    path_with_namespace: z.string(),
    web_url: z.string().optional(),
    id: z.number().int().optional(),
  }),
});
const bitbucketRef = z.object({ type: z.string(), name: z.string() }).nullish();
const bitbucketPushPayload = z.object({
  push: z.object({ changes: z.array(z.object({ new: bitbucketRef, old: bitbucketRef })) }),
});

function pushedBranch(payload: unknown): string[] {
  const parsed = refPayload.safeParse(payload);
  const branch = parsed.success ? refBranch(parsed.data.ref) : null;
  return branch ? [branch] : [];
}

const RULES: Record<WebhookProvider, ProviderRules> = {
  github: {
    signatureHeaders: ["x-hub-signature-256"],
    eventHeader: "x-github-event",
    deliveryHeaders: ["x-github-delivery"],
    repository: (p) => {
      const parsed = githubRepositoryPayload.safeParse(p);
      if (!parsed.success) return null;
      const { full_name, id } = parsed.data.repository;
      return { repo: full_name, ...(id !== undefined ? { id: String(id) } : {}) };
    },
    pushedBranches: (event, p) => (event === "push" ? pushedBranch(p) : null),
    isPing: (event) => event === "ping",
  },
  gitlab: {
    signatureHeaders: ["x-gitlab-token"],
    eventHeader: "x-gitlab-event",
    deliveryHeaders: ["idempotency-key", "x-gitlab-event-uuid"],
    repository: (p) => {
      const parsed = gitlabProjectPayload.safeParse(p);
      if (!parsed.success) return null;
      let host: string | undefined;
      try {
        host = parsed.data.project.web_url ? new URL(parsed.data.project.web_url).host : undefined;
      } catch {
        host = undefined;
      }
      const { path_with_namespace, id } = parsed.data.project;
      return { repo: path_with_namespace, host, ...(id !== undefined ? { id: String(id) } : {}) };
    },
    pushedBranches: (event, p) => (event === "Push Hook" ? pushedBranch(p) : null),
    isPing: () => false,
  },
  bitbucket: {
    signatureHeaders: ["x-hub-signature", "x-hub-signature-256"],
    eventHeader: "x-event-key",
    deliveryHeaders: ["x-request-uuid"],
    repository: (p) => {
      const parsed = bitbucketRepositoryPayload.safeParse(p);
      if (!parsed.success) return null;
      const { full_name, uuid } = parsed.data.repository;
      return { repo: full_name, ...(uuid !== undefined ? { id: uuid } : {}) };
    },
    pushedBranches: (event, p) => {
      if (event !== "repo:push") return null;
      const parsed = bitbucketPushPayload.safeParse(p);
      if (!parsed.success) return [];
      return parsed.data.push.changes
        .flatMap((c) => [c.new, c.old])
        .filter((r) => r?.type === "branch")
        .map((r) => r!.name);
    },
    isPing: (event) => event === "diagnostics:ping",
  },
};

function firstHeader(headers: Headers, names: string[]): string | null {
  for (const name of names) {
    const value = headers.get(name)?.trim();
    if (value) return value;
  }
  return null;
}

/**
 * Whether the payload's repository is the one the source follows (GitLab: on its host too). A
 * source that stored the repository's id is matched by it: a renamed or transferred repository
 * is still the source's (the sync then follows the new name), and another repository that took
 * the source's name is not.
 */
function follows(provider: WebhookProvider, source: Candidate, target: Target | null): boolean {
  if (!target) return false;
  const storedId = source.config.repoId;
  const same =
    (typeof storedId === "number" || typeof storedId === "string") && target.id !== undefined
      ? String(storedId).toLowerCase() === target.id.toLowerCase()
      : String(source.config.repo ?? "").toLowerCase() === target.repo.toLowerCase();
  if (!same) return false;
  if (provider !== "gitlab" || !target.host) return true;
  try {
    return new URL(String(source.config.host ?? "https://gitlab.com")).host.toLowerCase() === target.host.toLowerCase();
  } catch {
    return false;
  }
}

function secretOf(source: Candidate): string | null {
  try {
    return openWebhookSecret(source);
  } catch {
    // A secret sealed with a key no longer configured verifies nothing.
    return null;
  }
}

/** PostgreSQL's SQLSTATE for an event naming a source that no longer exists. */
const FOREIGN_KEY_VIOLATION = "23503";

const accepted = (body: Record<string, unknown>, status = 202) => Response.json(body, { status });

const unauthorized = () =>
  new WebhookRefusal("unauthorized", "The webhook is not signed by any source's secret (or names no known hook).");

type Verified = { sources: Candidate[]; body: Buffer; bodyHash: string };

/** Whether a source's secret verifies a body already read (its token, for GitLab). */
function verifiesHeld(provider: WebhookProvider, headers: Headers, source: Candidate, body: Buffer): boolean {
  const secret = secretOf(source);
  if (!secret) return false;
  if (provider === "gitlab") return safeEqual(headers.get("x-gitlab-token")?.trim() ?? "", secret);
  const signature = firstHeader(headers, RULES[provider].signatureHeaders)?.toLowerCase() ?? "";
  return safeEqual(`sha256=${createHmac("sha256", secret).update(body).digest("hex")}`, signature);
}

/**
 * GitLab sends the secret itself: the sources whose token it is are known from the headers
 * alone, and the body is read (within its caps) only for them.
 */
async function verifyGitLab(request: Request, key: string): Promise<Verified> {
  const token = request.headers.get("x-gitlab-token")!.trim();
  const matching = (sources: Candidate[]) =>
    sources.filter((s) => {
      const secret = secretOf(s);
      return !!secret && safeEqual(token, secret);
    });
  let sources = matching(await webhookCandidates("gitlab", key));
  if (sources.length === 0) sources = matching(await webhookCandidates("gitlab", key, { fresh: true }));
  if (sources.length === 0) throw unauthorized();
  const hash = createHash("sha256");
  const body = await readWebhookBody(request, { maxBytes: MAX_WEBHOOK_BODY, onChunk: (c) => hash.update(c) });
  return { sources, body, bodyHash: hash.digest("hex") };
}

/**
 * GitHub and Bitbucket sign the body: one HMAC per candidate source is computed while the bytes
 * arrive, and nothing else is done with them until one matches.
 */
async function verifySigned(provider: WebhookProvider, request: Request, key: string): Promise<Verified> {
  const signature = firstHeader(request.headers, RULES[provider].signatureHeaders)?.toLowerCase();
  if (!signature?.startsWith("sha256=")) throw unauthorized();
  const candidates = (await webhookCandidates(provider, key))
    .map((source) => ({ source, secret: secretOf(source) }))
    .filter((c): c is { source: Candidate; secret: string } => !!c.secret);
  if (candidates.length === 0) throw unauthorized();
  const hmacs = candidates.map((c) => createHmac("sha256", c.secret));
  const hash = createHash("sha256");
  const body = await readWebhookBody(request, {
    maxBytes: MAX_WEBHOOK_BODY,
    onChunk: (chunk) => {
      hash.update(chunk);
      for (const hmac of hmacs) hmac.update(chunk);
    },
  });
  const signs = (digest: string) => safeEqual(`sha256=${digest}`, signature);
  let sources = candidates.filter((_, i) => signs(hmacs[i]!.digest("hex"))).map((c) => c.source);
  if (sources.length === 0) {
    // A secret changed a moment ago (the cache not told yet): the database's, on the bytes held.
    const tried = new Set(candidates.map((c) => `${c.source.id}:${c.source.webhookSecret}`));
    sources = (await webhookCandidates(provider, key, { fresh: true })).filter((source) => {
      if (tried.has(`${source.id}:${source.webhookSecret}`)) return false;
      const secret = secretOf(source);
      return !!secret && signs(createHmac("sha256", secret).update(body).digest("hex"));
    });
  }
  if (sources.length === 0) throw unauthorized();
  return { sources, body, bodyHash: hash.digest("hex") };
}

/** What a verified event says: its name, delivery id, repository and pushed branches. */
type GitEvent = {
  name: string;
  deliveryId: string | null;
  target: Target | null;
  branches: string[] | null;
  summary: ReturnType<typeof gitPayloadSummary>;
};

function requireJson(request: Request): void {
  if (!/^application\/json\b/i.test(request.headers.get("content-type") ?? "")) {
    throw new WebhookRefusal(
      "unsupported_media_type",
      "Webhooks must be sent as JSON (content type application/json).",
    );
  }
}

/** Parses a verified body (never one that is not) and reads what the event is about. */
function describeEvent(provider: WebhookProvider, headers: Headers, body: Buffer): GitEvent {
  const rules = RULES[provider];
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString("utf8"));
  } catch {
    throw new WebhookRefusal("bad_request", "The webhook body is not valid JSON.");
  }
  const name = headers.get(rules.eventHeader) ?? "unknown";
  return {
    name,
    deliveryId: firstHeader(headers, rules.deliveryHeaders),
    target: rules.repository(payload),
    branches: rules.pushedBranches(name, payload),
    summary: gitPayloadSummary(provider, payload),
  };
}

/**
 * Records the event against the verified sources and queues a sync for each that follows the
 * pushed repository and branch; a verified event about another repository or branch is recorded
 * and queues nothing.
 */
function record(provider: WebhookProvider, sources: Candidate[], bodyHash: string, event: GitEvent) {
  const targets = event.branches
    ? sources
        .filter((s) => follows(provider, s, event.target) && event.branches!.includes(String(s.config.branch ?? "")))
        .map((s) => ({ sourceId: s.id }))
    : [];
  return recordWebhookEvent({
    sourceType: provider,
    eventType: event.name,
    deliveryId: event.deliveryId,
    sourceId: sources[0]!.id,
    bodyHash,
    payload: event.summary,
    targets,
  });
}

/**
 * record, and when a verified source was deleted a moment ago (the cache not told yet, so the
 * insert names a missing source), once more with the database's sources that verify the same
 * bytes; none left is unauthorized.
 */
async function recordForLiveSources(
  provider: WebhookProvider,
  request: Request,
  key: string,
  verified: Verified,
  event: GitEvent,
) {
  try {
    return await record(provider, verified.sources, verified.bodyHash, event);
  } catch (err) {
    if ((err as { code?: string }).code !== FOREIGN_KEY_VIOLATION) throw err;
    const fresh = (await webhookCandidates(provider, key, { fresh: true })).filter((s) =>
      verifiesHeld(provider, request.headers, s, verified.body),
    );
    if (fresh.length === 0) throw unauthorized();
    const before = new Set(verified.sources.map((s) => s.id));
    if (fresh.length === before.size && fresh.every((s) => before.has(s.id))) throw err;
    return record(provider, fresh, verified.bodyHash, event);
  }
}

/**
 * POST /api/webhooks/<provider>. Verify before parsing: the candidate sources come from the
 * headers (hook id, hook UUID, token hash), the signature or token is checked as the bytes
 * stream in, and only a verified body is parsed, recorded (deduplicated by delivery id and by
 * body) and acted on: one incremental sync per source that follows the pushed branch, queued
 * before answering and without calling the provider. Anything else is refused, counted and
 * never logged one by one (see refusals).
 */
export async function receiveGitWebhook(provider: WebhookProvider, request: Request): Promise<Response> {
  requireJson(request);
  const key = candidateKey(provider, request.headers);
  if (!key) throw unauthorized();
  const verified =
    provider === "gitlab" ? await verifyGitLab(request, key) : await verifySigned(provider, request, key);
  const event = describeEvent(provider, request.headers, verified.body);
  const recorded = await recordForLiveSources(provider, request, key, verified, event);
  countWebhook(provider, recorded.duplicate ? "duplicate" : "accepted");
  if (RULES[provider].isPing(event.name)) return accepted({ received: true, pong: true }, 200);
  return accepted({ received: true, duplicate: recorded.duplicate, queued: recorded.jobIds.length });
}
