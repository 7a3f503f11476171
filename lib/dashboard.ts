import "server-only";
import { notFound } from "next/navigation";
import { AppError } from "@/lib/api/errors";
import { listApiTokens } from "@/lib/auth/api-tokens";
import type { Actor } from "@/lib/auth/api-tokens";
import { localSourceRoots } from "@/lib/connectors/local";
import { SOURCE_TYPES } from "@/lib/connectors/types";
import { highlightLines } from "@/lib/highlight";
import { activitySummary } from "@/lib/jobs/activity";
import { listJobFailures } from "@/lib/jobs/job-failures";
import { getJobOrThrow, listJobs } from "@/lib/jobs/jobs";
import { listCredentials } from "@/lib/oauth/credentials";
import { OAUTH_PROVIDERS, oauthClient, providerLabel } from "@/lib/oauth/providers";
import { fileProviderId, getFileContent } from "@/lib/sources/get-file-content";
import { providerFileUrl } from "@/lib/sources/provider-file-url";
import { getSourceDetail, sourceLanguages } from "@/lib/sources/get-source-detail";
import { getSourceOrThrow } from "@/lib/sources/get-source-or-throw";
import { listFiles } from "@/lib/sources/list-files";
import { countSourcesByStatus, listSources } from "@/lib/sources/list-sources";
import {
  JOB_STATUSES,
  fileListRowSchema,
  JOB_TYPES,
  jobListRowSchema,
  pickFields,
  SOURCE_SORTS,
  SOURCE_STATUSES,
  sourceListRowSchema,
  type ListSourcesQuery,
  type SourceDto,
  type SourceListRow,
} from "@/lib/sources/schemas";
import { toJobDto } from "@/lib/sources/serialize";
import { KNOWN_LANGUAGES } from "@/lib/sync/language";
import { listWebhookEvents } from "@/lib/webhooks/list-webhook-events";

// The server-only data layer the dashboard pages read through. The route handlers the pages'
// live parts poll call the same lib functions, so both always show the same thing.

/** A lookup the page cannot show: a missing (or someone else's) record is the 404 page. */
async function orNotFound<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    if (err instanceof AppError && err.code === "not_found") notFound();
    throw err;
  }
}

/** Rows per page of the sources list. */
export const SOURCES_PAGE_SIZE = 50;

/** The sources page's query as its URL holds it: `q`, `type`, `status`, `sort`, `cursor`, and `prev` (earlier pages' cursors). */
export type SourcesPageQuery = {
  q?: string;
  type: NonNullable<ListSourcesQuery["type"]>;
  status: NonNullable<ListSourcesQuery["status"]>;
  sort: (typeof SOURCE_SORTS)[number];
  cursor?: string;
  prev: string[];
};

type SearchParams = Record<string, string | string[] | undefined>;
const many = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** Reads the sources page's URL; unknown values are dropped (a hand-edited URL shows the list, not an error). */
export function sourcesPageQuery(params: SearchParams): SourcesPageQuery {
  const sort = one(params.sort);
  const cursor = one(params.cursor);
  return {
    q: one(params.q)?.trim().slice(0, 255) || undefined,
    type: many(params.type).filter((t): t is SourcesPageQuery["type"][number] =>
      (SOURCE_TYPES as readonly string[]).includes(t),
    ),
    status: many(params.status).filter((s): s is SourcesPageQuery["status"][number] =>
      (SOURCE_STATUSES as readonly string[]).includes(s),
    ),
    sort: SOURCE_SORTS.find((s) => s === sort) ?? "status",
    cursor: cursor || undefined,
    prev: many(params.prev),
  };
}

/** The `/api/sources` query string of one page of the list (what the live part polls). */
export function sourcesApiQuery(query: SourcesPageQuery): string {
  const params = new URLSearchParams();
  if (query.q) params.set("q", query.q);
  for (const t of query.type) params.append("type", t);
  for (const s of query.status) params.append("status", s);
  params.set("sort", query.sort);
  params.set("limit", String(SOURCES_PAGE_SIZE));
  if (query.cursor) params.set("cursor", query.cursor);
  return params.toString();
}

/** Cuts a source down to what a row of the list shows, so the page stays light. */
export function toSourceListRow(source: SourceDto): SourceListRow {
  const job = source.latestJob;
  return {
    ...pickFields(sourceListRowSchema, source),
    // The row shows a job only while it runs or once it failed: a finished one stays out of the page.
    latestJob:
      job && (job.status === "running" || job.status === "queued" || job.status === "failed")
        ? pickFields(sourceListRowSchema.shape.latestJob.unwrap(), job)
        : null,
  };
}

/** One page of the sources list, the counts per status (for `q` and `type`), and whether any source exists. */
export async function dashboardSources(actor: Actor, query: SourcesPageQuery) {
  const filters = { q: query.q, type: query.type, status: query.status, sort: query.sort };
  let page;
  try {
    page = await listSources(actor, { ...filters, limit: SOURCES_PAGE_SIZE, cursor: query.cursor });
  } catch (err) {
    // A stale cursor (say, from a URL whose sort was edited) starts over at the first page.
    if (!(err instanceof AppError) || err.code !== "bad_request") throw err;
    page = await listSources(actor, { ...filters, limit: SOURCES_PAGE_SIZE });
  }
  const statusCounts = await countSourcesByStatus(actor, { q: query.q, type: query.type });
  return { sources: page.sources.map(toSourceListRow), nextCursor: page.nextCursor, statusCounts };
}

/** Rows per page of the jobs list. */
export const JOBS_PAGE_SIZE = 50;

export type JobsPageQuery = {
  status: string[];
  type: string[];
  trigger: string[];
  sourceId?: string;
  cursor?: string;
  prev: string[];
};

/** Reads the jobs page's URL; unknown values are dropped. */
export function jobsPageQuery(params: SearchParams): JobsPageQuery {
  const sourceId = one(params.sourceId);
  return {
    status: many(params.status).filter((s) => (JOB_STATUSES as readonly string[]).includes(s)),
    type: many(params.type).filter((t) => (JOB_TYPES as readonly string[]).includes(t)),
    trigger: many(params.trigger).filter((t) => /^[a-z_-]{1,50}$/.test(t)),
    sourceId: sourceId && /^[0-9a-f-]{36}$/i.test(sourceId) ? sourceId : undefined,
    cursor: one(params.cursor) || undefined,
    prev: many(params.prev),
  };
}

/** One page of jobs across the sources the actor may see, newest first, and the sources to filter by. */
export async function dashboardJobs(actor: Actor, query: JobsPageQuery) {
  const filters = { status: query.status, type: query.type, trigger: query.trigger, sourceId: query.sourceId };
  let page;
  try {
    page = await listJobs(actor, { ...filters, limit: JOBS_PAGE_SIZE, cursor: query.cursor });
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== "bad_request") throw err;
    page = await listJobs(actor, { ...filters, limit: JOBS_PAGE_SIZE });
  }
  const source = query.sourceId ? await getSourceOrThrow(actor, query.sourceId).catch(() => null) : null;
  return {
    jobs: page.jobs.map((job) => pickFields(jobListRowSchema, job)),
    nextCursor: page.nextCursor,
    source: source ? { id: source.id, name: source.name } : null,
  };
}

export const FILE_PAGE_SIZE = 100;

/** Everything the source page shows on first paint; the live parts then poll the API. */
export async function sourcePageData(actor: Actor, id: string) {
  const source = await orNotFound(getSourceDetail(actor, id));
  const [files, languages, jobs, events] = await Promise.all([
    listFiles(id, { limit: FILE_PAGE_SIZE }).then((page) => ({
      files: page.files.map((file) => pickFields(fileListRowSchema, file)),
      nextCursor: page.nextCursor,
    })),
    sourceLanguages(id),
    listJobs(actor, { sourceId: id, limit: 20 }).then((page) => page.jobs),
    listWebhookEvents(id, 20),
  ]);
  return { source, files, languages, jobs, events };
}

/** A file's page: its text highlighted by line, its chunks' line ranges, and its page at the provider. */
export async function filePageData(actor: Actor, sourceId: string, path: string) {
  const source = await orNotFound(getSourceOrThrow(actor, sourceId));
  const { file, content, chunks } = await orNotFound(getFileContent(sourceId, path));
  const [providerId, highlighted] = await Promise.all([
    fileProviderId(sourceId, path),
    highlightLines(content, file.language),
  ]);
  return {
    source: { id: source.id, name: source.name, type: source.type },
    file,
    ...highlighted,
    chunks: chunks.map((c) => ({ ordinal: c.ordinal, startLine: c.startLine, endLine: c.endLine })),
    providerUrl: providerFileUrl(source, { path: file.path, providerId }),
  };
}

export async function jobPageData(actor: Actor, id: string) {
  const job = await orNotFound(getJobOrThrow(actor, id));
  const [source, failures] = await Promise.all([getSourceOrThrow(actor, job.sourceId), listJobFailures(id)]);
  return { job: toJobDto(job), source: { id: source.id, name: source.name, type: source.type }, failures };
}

export async function activityData(actor: Actor) {
  return activitySummary(actor);
}

/** What the connect page offers: the folders local sources may read, and the accounts to use. */
export async function connectData(actor: Actor) {
  const credentials = await listCredentials(actor);
  const providers = OAUTH_PROVIDERS.map((id) => ({
    id,
    label: providerLabel(id),
    configured: oauthClient(id) !== null,
  }));
  return { localRoots: localSourceRoots(), credentials, providers, languages: KNOWN_LANGUAGES };
}

/** What the settings page shows: the user's API tokens, the accounts they may use, the providers they can connect. */
export async function settingsData(actor: Actor & { userId: string }) {
  const [tokens, credentials] = await Promise.all([listApiTokens(actor.userId), listCredentials(actor)]);
  const providers = OAUTH_PROVIDERS.map((id) => ({
    id,
    label: providerLabel(id),
    configured: oauthClient(id) !== null,
  }));
  return { tokens, credentials, providers };
}
