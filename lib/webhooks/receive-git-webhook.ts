import { z } from "zod";
import { AppError, problemResponse } from "@/lib/api/errors";
import { openWebhookSecret } from "@/lib/connectors/provider-token";
import { getConnectorDefinition } from "@/lib/connectors/registry";
import type { WebhookProvider } from "./callback-url";
import { repositoryFollowers, type Follower } from "./followers";
import { recordWebhookEvent } from "./record-webhook-event";

/** GitHub caps payloads at 25 MB; anything larger is not a provider's. */
export const MAX_WEBHOOK_BODY = 25 * 1024 * 1024;

type ProviderRules = {
  signatureHeaders: string[];
  eventHeader: string;
  deliveryHeaders: string[];
  /** The repository the event is about, as stored in config.repo. */
  repository(payload: unknown): { repo: string; host?: string } | null;
  /** Branches a push updated; null when the event is not a push. */
  pushedBranches(event: string, payload: unknown): string[] | null;
  isPing(event: string): boolean;
};

const refBranch = (ref: string) => (ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : null);

// Built once: a zod schema compiles itself on first use, and building one per request cost
// more than parsing with it.
const fullNamePayload = z.object({ repository: z.object({ full_name: z.string() }) });
const refPayload = z.object({ ref: z.string() });
const gitlabProjectPayload = z.object({
  project: z.object({ path_with_namespace: z.string(), web_url: z.string().optional() }),
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
      const parsed = fullNamePayload.safeParse(p);
      return parsed.success ? { repo: parsed.data.repository.full_name } : null;
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
      return { repo: parsed.data.project.path_with_namespace, host };
    },
    pushedBranches: (event, p) => (event === "Push Hook" ? pushedBranch(p) : null),
    isPing: () => false,
  },
  bitbucket: {
    signatureHeaders: ["x-hub-signature", "x-hub-signature-256"],
    eventHeader: "x-event-key",
    deliveryHeaders: ["x-request-uuid"],
    repository: (p) => {
      const parsed = fullNamePayload.safeParse(p);
      return parsed.success ? { repo: parsed.data.repository.full_name } : null;
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

async function readLimitedBody(request: Request): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_WEBHOOK_BODY)
    throw new AppError("payload_too_large", `Webhook bodies are limited to ${MAX_WEBHOOK_BODY} bytes.`);
  if (!request.body) return "";
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_WEBHOOK_BODY) {
      await reader.cancel();
      throw new AppError("payload_too_large", `Webhook bodies are limited to ${MAX_WEBHOOK_BODY} bytes.`);
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString("utf8");
}

function firstHeader(headers: Headers, names: string[]): string | null {
  for (const name of names) {
    const value = headers.get(name)?.trim();
    if (value) return value;
  }
  return null;
}

/** Sources of this provider that follow the repository (GitLab: on the event's host). */
async function followers(
  provider: WebhookProvider,
  target: { repo: string; host?: string },
  fresh = false,
): Promise<Follower[]> {
  const found = await repositoryFollowers(provider, target.repo, { fresh });
  if (provider !== "gitlab" || !target.host) return found;
  return found.filter((s) => {
    try {
      return new URL(String(s.config.host ?? "https://gitlab.com")).host.toLowerCase() === target.host!.toLowerCase();
    } catch {
      return false;
    }
  });
}

/** PostgreSQL's SQLSTATE for an event naming a source that no longer exists. */
const FOREIGN_KEY_VIOLATION = "23503";

const accepted = (body: Record<string, unknown>, status = 202) => Response.json(body, { status });

/**
 * POST /api/webhooks/<provider>: verify on the raw body (constant time), record the event
 * (deduplicated by delivery id) and queue one incremental sync per source that follows the
 * pushed branch, all before answering and without calling the provider.
 */
export async function receiveGitWebhook(provider: WebhookProvider, request: Request): Promise<Response> {
  try {
    const rules = RULES[provider];
    const contentType = request.headers.get("content-type") ?? "";
    if (!/^application\/json\b/i.test(contentType)) {
      throw new AppError("unsupported_media_type", "Webhooks must be sent as JSON (content type application/json).");
    }
    const rawBody = await readLimitedBody(request);
    if (!firstHeader(request.headers, rules.signatureHeaders)) {
      throw new AppError("unauthorized", "The webhook signature is missing.");
    }
    let payload: unknown;
    try {
      payload = JSON.parse(rawBody);
    } catch {
      throw new AppError("invalid_json", "The webhook body is not valid JSON.");
    }
    const target = rules.repository(payload);
    if (!target) throw new AppError("bad_request", "The webhook payload names no repository.");
    const webhookRequest = { headers: request.headers, rawBody };
    // The webhook secret only: resolving the provider token may refresh an OAuth token (a
    // network call) or fail for a credential that needs reconnecting, and neither may turn a
    // correctly signed push into an error.
    const { verifyWebhook } = getConnectorDefinition(provider);
    const signedFor = (sources: Follower[]) =>
      sources.filter((source) => {
        const secret = openWebhookSecret(source);
        return !!secret && !!verifyWebhook?.(secret, webhookRequest);
      });
    const event = request.headers.get(rules.eventHeader) ?? "unknown";
    const deliveryId = firstHeader(request.headers, rules.deliveryHeaders);
    const branches = rules.pushedBranches(event, payload);

    // First from the followers cache; again from the database when the signature matches no
    // cached secret (changed a moment ago) or a cached source was deleted a moment ago.
    for (const fresh of [false, true]) {
      const candidates = await followers(provider, target, fresh);
      if (candidates.length === 0) {
        // Same answer as for a followed repository, so that callers learn nothing from it.
        console.log(`[webhooks] ${provider} event for a repository no source follows; ignored`);
        return accepted({ received: true });
      }
      const verified = signedFor(candidates);
      if (verified.length === 0) {
        if (!fresh) continue;
        throw new AppError("unauthorized", "The webhook signature does not match.");
      }
      const targets = branches
        ? verified.filter((s) => branches.includes(String(s.config.branch ?? ""))).map((s) => ({ sourceId: s.id }))
        : [];
      let recorded;
      try {
        recorded = await recordWebhookEvent({ sourceType: provider, eventType: event, deliveryId, payload, targets });
      } catch (err) {
        if (!fresh && (err as { code?: string }).code === FOREIGN_KEY_VIOLATION) continue;
        throw err;
      }
      if (rules.isPing(event)) return accepted({ received: true, pong: true }, 200);
      return accepted({ received: true, duplicate: recorded.duplicate, queued: recorded.jobIds.length });
    }
    throw new Error("unreachable: the second lookup always answers");
  } catch (err) {
    return problemResponse(err);
  }
}
