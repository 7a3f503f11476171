import "server-only";
import { notFound } from "next/navigation";
import { AppError } from "@/lib/api/errors";
import { listApiTokens } from "@/lib/auth/api-tokens";
import type { Actor } from "@/lib/auth/api-tokens";
import { localSourceRoots } from "@/lib/connectors/local";
import { getConnectorDefinition } from "@/lib/connectors/registry";
import { SOURCE_TYPES } from "@/lib/connectors/types";
import { getDb } from "@/lib/db/client";
import { activitySummary } from "@/lib/jobs/activity";
import { listJobFailures } from "@/lib/jobs/job-failures";
import { getJobOrThrow, listJobs } from "@/lib/jobs/jobs";
import { listCredentials } from "@/lib/oauth/credentials";
import { OAUTH_PROVIDERS, oauthClient, providerLabel } from "@/lib/oauth/providers";
import { getFileContent } from "@/lib/sources/get-file-content";
import { getSourceDetail, sourceLanguages } from "@/lib/sources/get-source-detail";
import { getSourceOrThrow } from "@/lib/sources/get-source-or-throw";
import { listFiles } from "@/lib/sources/list-files";
import { listSources } from "@/lib/sources/list-sources";
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

/** The sources list, each row cut down to what the list shows. */
export async function dashboardSources(actor: Actor) {
  const { sources: rows } = await listSources(actor);
  return rows.map((s) => ({
    id: s.id,
    type: s.type,
    name: s.name,
    status: s.status,
    lastSyncAt: s.lastSyncAt,
    fileCount: s.fileCount,
    verifiedAt: s.verifiedAt,
    drift: s.drift,
    latestJob: s.latestJob
      ? {
          id: s.latestJob.id,
          status: s.latestJob.status,
          progress: s.latestJob.progress,
          filesTotal: s.latestJob.filesTotal,
          filesProcessed: s.latestJob.filesProcessed,
          filesSkipped: s.latestJob.filesSkipped,
          filesFailed: s.latestJob.filesFailed,
          errorMessage: s.latestJob.errorMessage,
          detail: s.latestJob.detail,
          startedAt: s.latestJob.startedAt,
        }
      : null,
  }));
}

export const FILE_PAGE_SIZE = 100;

/** Everything the source page shows on first paint; the live parts then poll the API. */
export async function sourcePageData(actor: Actor, id: string) {
  const source = await orNotFound(getSourceDetail(getDb(), actor, id));
  const [files, languages, jobs, events] = await Promise.all([
    listFiles(getDb(), id, { limit: FILE_PAGE_SIZE }),
    sourceLanguages(getDb(), id),
    listJobs(getDb(), actor, { sourceId: id, limit: 20 }).then((page) => page.jobs),
    listWebhookEvents(getDb(), id, 20),
  ]);
  return { source, files, languages, jobs, events };
}

export async function filePageData(actor: Actor, sourceId: string, path: string) {
  const source = await orNotFound(getSourceOrThrow(getDb(), actor, sourceId));
  const file = await orNotFound(getFileContent(getDb(), sourceId, path));
  return { source: { id: source.id, name: source.name, type: source.type }, ...file };
}

export async function jobPageData(actor: Actor, id: string) {
  const job = await orNotFound(getJobOrThrow(getDb(), actor, id));
  const [source, failures] = await Promise.all([
    getSourceOrThrow(getDb(), actor, job.sourceId),
    listJobFailures(getDb(), id),
  ]);
  return { job: toJobDto(job), source: { id: source.id, name: source.name, type: source.type }, failures };
}

export async function activityData(actor: Actor) {
  return activitySummary(getDb(), actor);
}

/** What the connect page offers: the folders local sources may read, and the accounts to use. */
export async function connectData(actor: Actor) {
  const credentials = await listCredentials(getDb(), actor);
  const providers = OAUTH_PROVIDERS.map((id) => ({
    id,
    label: providerLabel(id),
    configured: oauthClient(id) !== null,
  }));
  const available = SOURCE_TYPES.filter((type) => {
    try {
      getConnectorDefinition(type);
      return true;
    } catch {
      return false;
    }
  });
  return { localRoots: localSourceRoots(), credentials, providers, available, languages: KNOWN_LANGUAGES };
}

/** What the settings page shows: the user's API tokens, the accounts they may use, the providers they can connect. */
export async function settingsData(actor: Actor & { userId: string }) {
  const [tokens, credentials] = await Promise.all([
    listApiTokens(getDb(), actor.userId),
    listCredentials(getDb(), actor),
  ]);
  const providers = OAUTH_PROVIDERS.map((id) => ({
    id,
    label: providerLabel(id),
    configured: oauthClient(id) !== null,
  }));
  return { tokens, credentials, providers };
}
