import { createHash } from "node:crypto";
import { chunkLines, withChunkText, type StoredChunk, type TextChunk } from "./chunk";
import { normalizeText } from "./normalize";
import { countDelivery } from "@/lib/metrics/counters";

export type PipelineStages = {
  normalize?: string;
  chunk?: string;
  embed?: string;
  graph?: string;
};

export function pipelineStagesFromEnv(env: NodeJS.ProcessEnv = process.env): PipelineStages {
  return {
    normalize: env.PIPELINE_NORMALIZE_URL || undefined,
    chunk: env.PIPELINE_CHUNK_URL || undefined,
    embed: env.PIPELINE_EMBED_URL || undefined,
    graph: env.PIPELINE_GRAPH_URL || undefined,
  };
}

export type UpsertDelivery = {
  sourceId: string;
  path: string;
  sha: string;
  language: string | null;
  content: Buffer;
  /** 0 for a sync's delivery; a redelivery's generation (1, 2, …) otherwise. */
  generation?: number;
};

export type DeleteDelivery = { sourceId: string; path: string; sha: string | null };

/** Called while a stage is down and the delivery waits to retry. */
export type WaitReporter = (detail: string | null) => Promise<void> | void;

/**
 * Called before every request to a stage: throws to stop a delivery whose attempt has been
 * fenced off (cancelled, taken over, its source deleted), so that nothing stale is sent.
 */
export type SendGuard = () => Promise<void>;

/** A stage refused the file for good (a 4xx other than 408/429): record it, do not retry. */
export class PipelineRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PipelineRejectedError";
  }
}

/**
 * The idempotency key of one delivery: the same (source, path, sha) always gives the same key,
 * on every attempt. A redelivery adds its generation, so that a consumer applies the replay.
 */
export function idempotencyKey(sourceId: string, path: string, sha: string | null, generation = 0): string {
  const base = `${sourceId}\0${path}\0${sha ?? ""}`;
  return createHash("sha256")
    .update(generation > 0 ? `${base}\0${generation}` : base)
    .digest("hex");
}

export type Pipeline = {
  /**
   * Normalizes and chunks one file, hands it to every configured stage, returns the chunks to
   * store (without their text when they are the embedded cut of the embedded normalization).
   */
  upsert(file: UpsertDelivery, onWait?: WaitReporter, guard?: SendGuard): Promise<StoredChunk[]>;
  delete(file: DeleteDelivery, onWait?: WaitReporter, guard?: SendGuard): Promise<void>;
  /** True when no HTTP stage is configured: the embedded default is all there is. */
  embedded: boolean;
};

type RetryPolicy = { attempts: number; baseDelayMs: number; maxDelayMs: number; timeoutMs: number };

export const DEFAULT_RETRY: RetryPolicy = { attempts: 40, baseDelayMs: 250, maxDelayMs: 15_000, timeoutMs: 30_000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function retryAfterMs(response: Response): number | null {
  const header = response.headers.get("retry-after");
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

async function postJson(
  stage: string,
  url: string,
  body: unknown,
  key: string,
  policy: RetryPolicy,
  onWait?: WaitReporter,
  guard?: SendGuard,
): Promise<unknown> {
  let lastProblem = "";
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    await guard?.();
    let delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    delay = delay / 2 + Math.random() * (delay / 2);
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": key },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(policy.timeoutMs),
      });
      if (response.ok) {
        if (attempt > 1) await onWait?.(null);
        const text = await response.text();
        const answer: unknown = text ? JSON.parse(text) : {};
        countDelivery(stage, "delivered");
        return answer;
      }
      const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
      const detail = (await response.text().catch(() => "")).slice(0, 200);
      if (!retryable) {
        countDelivery(stage, "refused");
        throw new PipelineRejectedError(`${stage} stage answered ${response.status}: ${detail}`);
      }
      lastProblem = `${stage} stage answered ${response.status}`;
      delay = Math.max(delay, retryAfterMs(response) ?? 0);
    } catch (err) {
      if (err instanceof PipelineRejectedError) throw err;
      lastProblem = `${stage} stage unreachable (${(err as Error).message})`;
    }
    countDelivery(stage, "failed");
    if (attempt === policy.attempts) break;
    await onWait?.(
      `waiting for the pipeline: ${lastProblem}; retrying at ${new Date(Date.now() + delay).toISOString()}`,
    );
    await sleep(delay);
  }
  throw new Error(`The pipeline did not accept the delivery after ${policy.attempts} attempts: ${lastProblem}`);
}

function join(base: string, route: string): string {
  return `${base.replace(/\/+$/, "")}${route}`;
}

type StageChunk = { content: string; startLine?: number; endLine?: number };

export function createPipeline(stages: PipelineStages = pipelineStagesFromEnv(), policy = DEFAULT_RETRY): Pipeline {
  const embedded = !stages.normalize && !stages.chunk && !stages.embed && !stages.graph;
  return {
    embedded,
    async upsert(file, onWait, guard) {
      const key = idempotencyKey(file.sourceId, file.path, file.sha, file.generation ?? 0);
      const meta = { sourceId: file.sourceId, path: file.path, sha: file.sha, language: file.language };
      let text = normalizeText(file.content);
      if (stages.normalize) {
        const result = (await postJson(
          "normalize",
          join(stages.normalize, "/process"),
          { files: [{ ...meta, content: text }] },
          key,
          policy,
          onWait,
          guard,
        )) as {
          files?: { content?: string }[];
        };
        const normalized = result.files?.[0]?.content;
        if (typeof normalized === "string") text = normalized;
      }
      const lines = text.split("\n");
      const ranges = chunkLines(lines);
      // Chunks cut here are lines of the file's stored content as normalizeText reads it, so
      // they are returned without their text (see StoredChunk): at once by the embedded
      // pipeline, and after the stages (which get the text) when no normalize or chunk stage
      // changed it.
      if (embedded) {
        countDelivery("embedded", "delivered");
        return ranges.map((c) => ({ ...c, content: null }));
      }
      let chunks: TextChunk[] = withChunkText(ranges, lines);
      if (stages.chunk) {
        const result = (await postJson(
          "chunk",
          join(stages.chunk, "/chunk"),
          { ...meta, content: text },
          key,
          policy,
          onWait,
          guard,
        )) as {
          chunks?: StageChunk[];
        };
        if (Array.isArray(result.chunks)) {
          chunks = result.chunks.map((c, ordinal) => ({
            ordinal,
            content: String(c.content ?? ""),
            startLine: c.startLine ?? 0,
            endLine: c.endLine ?? 0,
          }));
        }
      }
      let embeddings: unknown = undefined;
      if (stages.embed) {
        const result = (await postJson(
          "embed",
          join(stages.embed, "/embed"),
          { ...meta, chunks },
          key,
          policy,
          onWait,
          guard,
        )) as {
          embeddings?: unknown;
        };
        embeddings = result.embeddings;
      }
      if (stages.graph) {
        await postJson(
          "graph",
          join(stages.graph, "/store"),
          { ...meta, chunks, embeddings },
          key,
          policy,
          onWait,
          guard,
        );
      }
      return stages.normalize || stages.chunk ? chunks : ranges.map((c) => ({ ...c, content: null }));
    },
    async delete(file, onWait, guard) {
      const key = idempotencyKey(file.sourceId, file.path, `deleted:${file.sha ?? ""}`);
      const body = { op: "delete", sourceId: file.sourceId, path: file.path, sha: file.sha };
      for (const [stage, url] of Object.entries(stages)) {
        if (url) await postJson(stage, join(url, "/delete"), body, key, policy, onWait, guard);
      }
      if (embedded) countDelivery("embedded", "delivered");
    },
  };
}
