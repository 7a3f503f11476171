import { z } from "zod";
import { browseBody } from "@/lib/sources/browse-provider";
import { changesPage, changesQuery } from "@/lib/changes/schemas";
import { activitySchema } from "@/lib/jobs/schemas";
import { problemSchema } from "./problem";
import { createCredentialBody, credentialResponse, listCredentialsResponse } from "@/lib/oauth/schemas";
import { OAUTH_PROVIDERS, SOURCE_TYPES } from "@/lib/providers";
import {
  browseResponse,
  createSourceBody,
  createSourceResponse,
  fileContentQuery,
  fileContentResponse,
  jobFailuresQuery,
  jobFailuresResponse,
  jobResponse,
  listFilesQuery,
  listFilesResponse,
  listJobsQuery,
  listJobsResponse,
  listSourcesQuery,
  listSourcesResponse,
  retryFailedResponse,
  sourceResponse,
  syncBody,
  syncResponse,
  updateSourceBody,
  verifyResponse,
  webhookEventsQuery,
  webhookEventsResponse,
} from "@/lib/sources/schemas";
import { healthResponse } from "@/lib/workers/schemas";

// The API reference, generated (zod 4's JSON Schema output) from the schemas the route handlers
// validate requests with and the response schemas their answers are typed by.

type Operation = {
  method: "get" | "post" | "patch" | "delete";
  path: string;
  /** Stable: generated clients name their functions after it. */
  operationId: string;
  summary: string;
  /** Open without a session or token. */
  open?: boolean;
  query?: z.ZodObject;
  body?: z.ZodType;
  status: number;
  response?: z.ZodType;
  redirect?: boolean;
  /** Error answers particular to this operation, by status. */
  errors?: Record<number, string>;
};

const uuid = (name: string) => ({ name, in: "path", required: true, schema: { type: "string", format: "uuid" } });
const providerParam = {
  name: "provider",
  in: "path",
  required: true,
  schema: { type: "string", enum: [...OAUTH_PROVIDERS] },
};

export const OPERATIONS: Operation[] = [
  {
    method: "post",
    path: "/api/sources",
    operationId: "createSource",
    summary: "Connect a source and queue its first full sync",
    body: createSourceBody,
    status: 201,
    response: createSourceResponse,
  },
  {
    method: "get",
    path: "/api/sources",
    operationId: "listSources",
    summary:
      "The sources the caller may see, filtered and sorted, each with its latest job; all, or a page with ?limit",
    query: listSourcesQuery,
    status: 200,
    response: listSourcesResponse,
  },
  {
    method: "get",
    path: "/api/sources/{id}",
    operationId: "getSource",
    summary: "One source",
    status: 200,
    response: sourceResponse,
  },
  {
    method: "patch",
    path: "/api/sources/{id}",
    operationId: "updateSource",
    summary: "Change a source's name or config",
    body: updateSourceBody,
    status: 200,
    response: sourceResponse,
  },
  {
    method: "delete",
    path: "/api/sources/{id}",
    operationId: "deleteSource",
    summary: "Remove a source, its webhook and its files (deletions delivered)",
    status: 204,
  },
  {
    method: "post",
    path: "/api/sources/{id}/sync",
    operationId: "syncSource",
    summary: "Request a full or incremental sync, or a redelivery of every indexed file (its own job)",
    body: syncBody,
    status: 202,
    response: syncResponse,
  },
  {
    method: "get",
    path: "/api/changes",
    operationId: "listChanges",
    summary:
      "The changes feed of every source the caller may see, in seq order; 410 (with a restart `cursor`) when `after` is older than retention",
    query: changesQuery,
    status: 200,
    response: changesPage,
    errors: {
      400: "`after` is not a cursor this feed gave",
      410: "`after` is older than retention; the body's `cursor` restarts from the beginning",
    },
  },
  {
    method: "get",
    path: "/api/sources/{id}/changes",
    operationId: "listSourceChanges",
    summary:
      "One source's changes feed, in seq order (readable after the source's deletion); 410 (with a restart `cursor`) when `after` is older than retention",
    query: changesQuery,
    status: 200,
    response: changesPage,
    errors: {
      400: "`after` is not a cursor this feed gave",
      410: "`after` is older than retention; the body's `cursor` restarts from the beginning",
    },
  },
  {
    method: "post",
    path: "/api/sources/{id}/verify",
    operationId: "verifySource",
    summary: "Queue a verify job: compare the index with the source (drift queues a repairing full sync)",
    status: 202,
    response: verifyResponse,
  },
  {
    method: "get",
    path: "/api/sources/{id}/files",
    operationId: "listFiles",
    summary: "The source's files, paged",
    query: listFilesQuery,
    status: 200,
    response: listFilesResponse,
  },
  {
    method: "get",
    path: "/api/sources/{id}/files/content",
    operationId: "getFileContent",
    summary: "One file's text and its chunks",
    query: fileContentQuery,
    status: 200,
    response: fileContentResponse,
  },
  {
    method: "get",
    path: "/api/jobs",
    operationId: "listJobs",
    summary: "Sync jobs of the sources the caller may see, newest first, filtered and paged",
    query: listJobsQuery,
    status: 200,
    response: listJobsResponse,
  },
  {
    method: "get",
    path: "/api/jobs/{id}",
    operationId: "getJob",
    summary: "One sync job",
    status: 200,
    response: jobResponse,
  },
  {
    method: "post",
    path: "/api/jobs/{id}/cancel",
    operationId: "cancelJob",
    summary: "Cancel a queued or running job",
    status: 202,
    response: jobResponse,
  },
  {
    method: "post",
    path: "/api/jobs/{id}/retry-failed",
    operationId: "retryFailedFiles",
    summary: "Queue an incremental sync of the files a finished job failed on",
    status: 202,
    response: retryFailedResponse,
  },
  {
    method: "get",
    path: "/api/jobs/{id}/failures",
    operationId: "listJobFailures",
    summary: "The files a job could not index, and why",
    query: jobFailuresQuery,
    status: 200,
    response: jobFailuresResponse,
  },
  {
    method: "get",
    path: "/api/sources/{id}/webhook-events",
    operationId: "listWebhookEvents",
    summary: "The source's latest webhook events (no payloads)",
    query: webhookEventsQuery,
    status: 200,
    response: webhookEventsResponse,
  },
  {
    method: "post",
    path: "/api/providers/{type}/browse",
    operationId: "browseProvider",
    summary:
      "List the repositories and branches (git hosts) or folders (Drive, Dropbox) a token or connected account can read",
    body: browseBody,
    status: 200,
    response: browseResponse,
  },
  {
    method: "get",
    path: "/api/activity",
    operationId: "getActivity",
    summary: "Queued and running jobs, and the last day's failed ones",
    status: 200,
    response: activitySchema,
  },
  {
    method: "get",
    path: "/api/credentials",
    operationId: "listCredentials",
    summary: "Connected accounts and stored provider tokens (never the secret)",
    status: 200,
    response: listCredentialsResponse,
  },
  {
    method: "post",
    path: "/api/credentials",
    operationId: "createCredential",
    summary: "Store a GitHub/GitLab personal access token or a Bitbucket API token",
    body: createCredentialBody,
    status: 201,
    response: credentialResponse,
  },
  {
    method: "get",
    path: "/api/credentials/{id}",
    operationId: "getCredential",
    summary: "One credential (never the secret)",
    status: 200,
    response: credentialResponse,
  },
  {
    method: "delete",
    path: "/api/credentials/{id}",
    operationId: "deleteCredential",
    summary: "Forget a credential that no source uses",
    status: 204,
  },
  {
    method: "get",
    path: "/api/oauth/{provider}/authorize",
    operationId: "startOAuth",
    summary: "Start connecting an account: redirects to the provider with state and PKCE",
    query: z.object({ returnTo: z.string().optional().describe("A path of this app to come back to") }),
    status: 302,
    redirect: true,
  },
  {
    method: "get",
    path: "/api/oauth/{provider}/callback",
    operationId: "completeOAuth",
    summary: "The provider's redirect back: stores the credential and returns to the dashboard",
    open: true,
    query: z.object({ state: z.string(), code: z.string().optional(), error: z.string().optional() }),
    status: 303,
    redirect: true,
  },
  {
    method: "get",
    path: "/api/health",
    operationId: "getHealth",
    summary: "The database answers; with a session or token also the live workers",
    open: true,
    status: 200,
    response: healthResponse,
  },
  ...(["github", "gitlab", "bitbucket", "gdrive", "dropbox"] as const).map((provider): Operation => ({
    method: "post",
    path: `/api/webhooks/${provider}`,
    operationId: `receive${provider === "gdrive" ? "Gdrive" : provider[0]!.toUpperCase() + provider.slice(1)}Webhook`,
    summary: `A ${provider} notification, verified by its signature before anything else`,
    open: true,
    status: 202,
  })),
  {
    method: "get",
    path: "/api/webhooks/dropbox",
    operationId: "verifyDropboxWebhook",
    summary: "Dropbox's endpoint check: echoes the challenge",
    open: true,
    query: z.object({ challenge: z.string() }),
    status: 200,
  },
  {
    method: "get",
    path: "/api/metrics",
    operationId: "getMetrics",
    summary:
      "Prometheus text (operator token or METRICS_TOKEN): every live process's counters and the database's figures",
    status: 200,
  },
  {
    method: "get",
    path: "/api/openapi.json",
    operationId: "getOpenApiDocument",
    summary: "This document (open: it holds no secret); /api/docs renders it",
    open: true,
    status: 200,
  },
];

const jsonSchema = (schema: z.ZodType, io: "input" | "output") => {
  const document = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  delete document.$schema;
  return document;
};

function queryParameters(query: z.ZodObject) {
  return Object.entries(query.shape).map(([name, schema]) => {
    const s = schema as z.ZodType;
    return { name, in: "query", required: !s.safeParse(undefined).success, schema: jsonSchema(s, "input") };
  });
}

function pathParameters(path: string) {
  if (path.includes("{provider}")) return [providerParam];
  if (path.includes("{type}"))
    return [
      {
        name: "type",
        in: "path",
        required: true,
        schema: { type: "string", enum: SOURCE_TYPES.filter((t) => t !== "local") },
      },
    ];
  return path.includes("{id}") ? [uuid("id")] : [];
}

const errorResponse = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});

export function openApiDocument(serverUrl?: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const responses: Record<string, unknown> = {
      [op.status]: op.redirect
        ? { description: "Redirect", headers: { Location: { schema: { type: "string" } } } }
        : op.response
          ? { description: "OK", content: { "application/json": { schema: jsonSchema(op.response, "output") } } }
          : { description: op.status === 204 ? "No content" : "OK" },
    };
    if (!op.open) responses["401"] = errorResponse("No session and no valid API token");
    if (op.path.includes("{id}")) responses["404"] = errorResponse("Not found, or not the caller's");
    if (op.body || op.query) responses["422"] = errorResponse("The input failed validation; `errors` lists the fields");
    if (op.body || op.open) responses["400"] = errorResponse("A malformed request");
    for (const [status, description] of Object.entries(op.errors ?? {})) responses[status] = errorResponse(description);
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.open ? { security: [] } : {}),
      parameters: [...pathParameters(op.path), ...(op.query ? queryParameters(op.query) : [])],
      ...(op.body
        ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(op.body, "input") } } } }
        : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Data Connector API",
      version: "1",
      description:
        "Send `Authorization: Bearer <token>` (create tokens in Settings or with `npm run cli -- tokens create <name>`). Errors are RFC 9457 problem details.",
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    security: [{ bearer: [] }, { session: [] }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "An API token (dc_...)" },
        session: {
          type: "apiKey",
          in: "cookie",
          name: "dc.session-token",
          description: "The dashboard's sign-in session",
        },
      },
      schemas: { Problem: jsonSchema(problemSchema, "output") },
    },
    paths,
  };
}
