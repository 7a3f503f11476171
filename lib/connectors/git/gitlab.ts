import { Gitlab } from "@gitbeaker/rest";
import { createRequesterFn, type RequestOptions } from "@gitbeaker/requester-utils";
import { z } from "zod";
import { ConnectorConfigError, ConnectorNotFoundError, ConnectorError, ConnectorFileError } from "../errors";
import { assertAllowedUrl } from "../host-guard";
import { DEFAULT_MAX_FILE_SIZE, providerLimits } from "../provider-limits";
import type {
  Connector,
  ConnectorContext,
  ConnectorDefinition,
  Delta,
  FileChange,
  RemoteFile,
  StreamFilesOptions,
  WebhookRequest,
} from "../types";
import { readTarGz } from "./archive";
import { errorForStatus, networkError, providerFetch, type ErrorSubject } from "./provider-http";
import { safeEqual } from "@/lib/safe-equal";
import {
  BlobIndex,
  branchGoneError,
  changeForDiffEntry,
  changesFromCommits,
  configFromName,
  gitConfigFields,
  isRegularFileMode,
} from "./shared";

export const gitlabConfigSchema = z.object({
  ...gitConfigFields,
  host: z
    .url({
      protocol: /^https?$/,
      error: "host must be the http(s) URL of the GitLab instance, e.g. https://gitlab.example.com",
    })
    .optional(),
  /** GitLab's id of the project, stored at connect: the project is addressed by it, a rename or transfer keeps it. */
  repoId: z.number().int().positive().optional(),
});

const TOKEN_HINT = "a token with read_repository (and api when APP_URL is set, to manage the webhook)";
/** GitLab's compare stops listing at its diff limits (1,000 files by default). */
const COMPARE_FILE_LIMIT = 1000;

/**
 * gitbeaker's requests go through providerFetch (host guard on every hop, short 5xx retries)
 * and fail as connector errors. gitbeaker's own handler retries 429 ten times within a few
 * milliseconds and ignores RateLimit-Reset; the sync engine waits it out instead.
 */
/** Query parameters that mark a request for a listing's later page (offset or keyset). */
const PAGE_PARAMS = ["page", "page_token", "id_after"];

/**
 * gitbeaker follows a listing's pages without end and holds them all: a listing of more than
 * PROVIDER_MAX_PAGES pages or PROVIDER_MAX_ENTRIES entries fails (never cut short, which
 * would read as files deleted).
 */
function pageCounter() {
  const listings = new Map<string, { pages: number; entries: number }>();
  return (endpoint: string, searchParams: unknown, body: unknown) => {
    const params = new URLSearchParams(typeof searchParams === "string" ? searchParams : String(searchParams ?? ""));
    const laterPage = PAGE_PARAMS.some((p) => params.has(p) && params.get(p) !== "1");
    const listing = laterPage ? (listings.get(endpoint) ?? { pages: 0, entries: 0 }) : { pages: 0, entries: 0 };
    listing.pages++;
    listing.entries += Array.isArray(body) ? body.length : 0;
    listings.set(endpoint, listing);
    const { maxPages, maxEntries } = providerLimits();
    if (listing.pages > maxPages || listing.entries > maxEntries)
      throw new ConnectorError(
        `GitLab's listing of ${endpoint.split("?")[0]} goes past ${maxPages} pages or ${maxEntries} entries, the limit for one listing (PROVIDER_MAX_PAGES, PROVIDER_MAX_ENTRIES).`,
      );
  };
}

function requesterFor(subject: ErrorSubject) {
  const countPage = pageCounter();
  return createRequesterFn(
    (_, options) => Promise.resolve(options),
    async (endpoint: string, options?: RequestOptions) => {
      const {
        prefixUrl,
        searchParams,
        method,
        asStream,
        rateLimiters: _limiters,
        agent: _agent,
        ...rest
      } = (options ?? {}) as RequestOptions & Record<string, unknown>;
      void _limiters;
      void _agent;
      const url = new URL(
        endpoint,
        prefixUrl ? (String(prefixUrl).endsWith("/") ? String(prefixUrl) : `${prefixUrl}/`) : undefined,
      );
      if (searchParams) url.search = String(searchParams);
      let response: Response;
      try {
        response = await providerFetch(
          url,
          { ...(rest as RequestInit), method: String(method ?? "GET") },
          { stream: Boolean(asStream), provider: "gitlab" },
        );
      } catch (err) {
        throw networkError(err, "GitLab");
      }
      const headers = Object.fromEntries(response.headers.entries());
      if (!response.ok) {
        const text = await response.text();
        let message = text;
        try {
          const parsed = JSON.parse(text) as { message?: unknown; error?: unknown };
          message = String(typeof parsed.message === "string" ? parsed.message : (parsed.error ?? text));
        } catch {
          // not JSON: keep the text
        }
        throw errorForStatus(response.status, response.headers, message, subject);
      }
      if (asStream) return { body: response.body, headers, status: response.status };
      const type = (response.headers.get("content-type") ?? "").split(";")[0]!.trim();
      const body =
        response.status === 204
          ? null
          : type === "application/json"
            ? await response.json()
            : type.startsWith("text/")
              ? await response.text()
              : await response.blob();
      if (method === undefined || String(method).toUpperCase() === "GET") countPage(endpoint, searchParams, body);
      return { body, headers, status: response.status };
    },
  );
}

export const gitlabPushPayload = z.object({
  ref: z.string(),
  commits: z
    .array(
      z.object({
        added: z.array(z.string()).optional(),
        modified: z.array(z.string()).optional(),
        removed: z.array(z.string()).optional(),
      }),
    )
    .optional(),
  total_commits_count: z.number().optional(),
});

/** GitLab sends the hook's secret token itself in `X-Gitlab-Token` (compared in constant time). */
function verifyGitLabWebhook(secret: string, request: WebhookRequest): boolean {
  const given = request.headers.get("x-gitlab-token");
  return !!given && safeEqual(given, secret);
}

const projectPayload = z.object({
  id: z.number().int(),
  path_with_namespace: z.string(),
  default_branch: z.string().nullish(),
});
const branchPayload = z.object({ commit: z.object({ id: z.string() }), web_url: z.string().optional() });

/** The project path a GitLab web URL names (`https://host/group/project/-/tree/main` → `group/project`). */
function projectPathOf(webUrl: string): string | null {
  try {
    const path = new URL(webUrl).pathname;
    const end = path.indexOf("/-/");
    return end > 0 ? decodeURIComponent(path.slice(1, end)) : null;
  } catch {
    return null;
  }
}

class GitLabConnector implements Connector {
  /** The project's path (config.repo), for messages, the web and the archive's name. */
  private project: string;
  /** The project's id once known: every call addresses the project by it, whatever its path now. */
  private projectId: number | null;
  /** The id was learnt during this run (a source connected before ids were stored): to store. */
  private learntId = false;
  /** The path the source had when this run found the project renamed or transferred. */
  private movedFrom: string | null = null;
  private readonly host: string;
  private readonly api: InstanceType<typeof Gitlab>;
  private branch: string | null;
  private head: string | null;
  private readonly blobs = new BlobIndex();
  private readonly contents = new Map<string, Buffer>();

  constructor(private readonly context: ConnectorContext) {
    this.head = context.at ?? null;
    this.project = String(context.config.repo ?? "");
    this.projectId = typeof context.config.repoId === "number" ? context.config.repoId : null;
    this.host = String(context.config.host ?? "https://gitlab.com").replace(/\/+$/, "");
    this.branch = (context.config.branch as string | undefined) ?? null;
    this.api = new Gitlab({
      host: this.host,
      ...(context.token ? { token: context.token } : {}),
      requesterFn: requesterFor({
        provider: "GitLab",
        repo: this.project,
        tokenHint: TOKEN_HINT,
        userChosenHost: true,
      }),
    } as ConstructorParameters<typeof Gitlab>[0]);
  }

  /** How calls name the project: its id once known, else its path. */
  private get ref(): string | number {
    return this.projectId ?? this.project;
  }

  private async showProject(ref: string | number = this.ref) {
    return projectPayload.parse(await this.api.Projects.show(ref));
  }

  /** Connect (and a PATCH of the config) looks the project up by the path given, and stores its id. */
  async validateConnection(): Promise<void> {
    await assertAllowedUrl(new URL(this.host), "host");
    const project = await this.showProject(this.project);
    this.projectId = project.id;
    this.learntId = false;
    if (this.branch) {
      await this.api.Branches.show(this.ref, this.branch).catch((err) => {
        if (err instanceof ConnectorNotFoundError)
          throw new ConnectorConfigError(`The branch "${this.branch}" does not exist in ${this.project}.`, "branch");
        throw err;
      });
    } else {
      this.branch = project.default_branch ?? "main";
    }
  }

  settledConfig(): Record<string, unknown> {
    return {
      ...(this.branch ? { branch: this.branch } : {}),
      ...(this.projectId !== null ? { repoId: this.projectId } : {}),
      ...this.movedConfig(),
    };
  }

  movedConfig(): Record<string, unknown> | null {
    if (!this.movedFrom && !this.learntId) return null;
    return {
      ...(this.movedFrom ? { repo: this.project } : {}),
      ...(this.learntId && this.projectId !== null ? { repoId: this.projectId } : {}),
    };
  }

  private async resolveBranch(): Promise<string> {
    if (!this.branch) this.branch = (await this.showProject()).default_branch ?? "main";
    return this.branch;
  }

  /**
   * A source connected before project ids were stored learns its project's id once (then
   * stored with the source); from then on a rename or transfer changes nothing it calls.
   */
  private async resolveProjectId(): Promise<void> {
    if (this.projectId !== null) return;
    this.projectId = (await this.showProject(this.project)).id;
    this.learntId = true;
  }

  /**
   * The branch's web URL names the project's path now: when it is not the stored one, the
   * project (by id) says its new path, which the source then follows.
   */
  private async followMove(webUrl: string | undefined): Promise<void> {
    const path = webUrl ? projectPathOf(webUrl) : null;
    if (!path || path.toLowerCase() === this.project.toLowerCase()) return;
    const project = await this.showProject();
    if (project.path_with_namespace.toLowerCase() === this.project.toLowerCase()) return;
    this.movedFrom = this.project;
    this.project = project.path_with_namespace;
  }

  async currentCursor(): Promise<string> {
    if (!this.head) {
      await this.resolveProjectId();
      const name = await this.resolveBranch();
      const branch = branchPayload.parse(
        await this.api.Branches.show(this.ref, name).catch(async (err) => {
          if (!(err instanceof ConnectorNotFoundError)) throw err;
          // The project answers (else its own 404 stands): the branch is what is gone.
          const project = await this.showProject();
          throw branchGoneError(project.path_with_namespace, name, project.default_branch ?? null);
        }),
      );
      await this.followMove(branch.web_url);
      this.head = branch.commit.id;
    }
    return this.head;
  }

  async *listFiles(start = "", recursive = true): AsyncIterable<RemoteFile> {
    const head = await this.currentCursor();
    const prefix = start.replace(/^\/+|\/+$/g, "");
    const entries = (await this.api.Repositories.allRepositoryTrees(this.ref, {
      ref: head,
      recursive,
      ...(prefix ? { path: prefix } : {}),
      pagination: "keyset",
      perPage: 100,
    })) as { id: string; type: string; path: string; mode: string }[];
    for (const entry of entries) {
      if (entry.type !== "blob" || !isRegularFileMode(entry.mode)) continue;
      const file = { path: entry.path, size: null, version: entry.id };
      this.blobs.set(file);
      yield file;
    }
  }

  async getFileMetadata(path: string): Promise<RemoteFile | null> {
    const known = this.blobs.get(path);
    if (known) return known;
    const head = await this.currentCursor();
    try {
      // One request gives the blob id and the content: the content is kept for getFileContent.
      const file = (await this.api.RepositoryFiles.show(this.ref, path, head)) as {
        blob_id: string;
        size: number;
        content: string;
        encoding: string;
      };
      const content = Buffer.from(file.content, file.encoding === "base64" ? "base64" : "utf8");
      const meta = { path, size: file.size, version: file.blob_id };
      this.blobs.set(meta);
      this.contents.set(path, content);
      return meta;
    } catch (err) {
      if (err instanceof ConnectorNotFoundError) return null;
      throw err;
    }
  }

  async getFileContent(path: string, listed?: RemoteFile): Promise<Buffer> {
    const cached = this.contents.get(path);
    if (cached) {
      this.contents.delete(path);
      return cached;
    }
    // A connector created for a batch has no listing of its own: the batch's entry says which blob.
    const version = this.blobs.get(path)?.version ?? listed?.version;
    const project = encodeURIComponent(String(this.ref));
    try {
      // GitLab's tree gives no sizes: the content streams in and is cut one byte past the
      // source's size cap (the sync then drops the file as too large), so it is never held whole.
      const { body } = await (
        this.api.Repositories as unknown as {
          requester: { get(e: string, o: object): Promise<{ body: ReadableStream<Uint8Array> }> };
        }
      ).requester.get(
        version
          ? `projects/${project}/repository/blobs/${encodeURIComponent(version)}/raw`
          : `projects/${project}/repository/files/${encodeURIComponent(path)}/raw`,
        { asStream: true, ...(version ? {} : { searchParams: { ref: listed?.ref ?? (await this.currentCursor()) } }) },
      );
      return await readAtMost(body, this.maxFileSize() + 1);
    } catch (err) {
      if (err instanceof ConnectorNotFoundError)
        throw new ConnectorFileError(path, "the file is gone from the repository");
      throw err;
    }
  }

  private maxFileSize(): number {
    const configured = this.context.config.maxFileSize;
    return typeof configured === "number" && configured > 0 ? configured : DEFAULT_MAX_FILE_SIZE;
  }

  /** `repository/archive.tar.gz?sha=` — GitLab allows 5 archive downloads per minute per user. */
  async *streamFiles(options: StreamFilesOptions = {}): AsyncIterable<RemoteFile & { content: Buffer }> {
    const head = await this.currentCursor();
    const { body } = await (
      this.api.Repositories as unknown as {
        requester: { get(e: string, o: object): Promise<{ body: ReadableStream<Uint8Array> }> };
      }
    ).requester.get(`projects/${encodeURIComponent(String(this.ref))}/repository/archive.tar.gz`, {
      searchParams: { sha: head },
      asStream: true,
    });
    try {
      yield* readTarGz(body, options);
    } catch (err) {
      throw networkError(err, "GitLab");
    }
  }

  /**
   * A straight (two-dot) compare from the stored commit to the head: exact across a
   * force-push as long as the old commit still exists. An unknown base, a compare that hit
   * GitLab's limits, or a head behind the base is a reset (tree diff by blob SHA).
   */
  async getChanges(base: string): Promise<Delta> {
    const head = await this.currentCursor();
    if (head === base) return { reset: false, changes: [], cursor: head };
    let result;
    try {
      result = (await this.api.Repositories.compare(this.ref, base, head, { straight: true })) as {
        diffs?: {
          old_path: string;
          new_path: string;
          new_file: boolean;
          renamed_file: boolean;
          deleted_file: boolean;
          b_mode?: string;
        }[];
        compare_timeout?: boolean;
      };
    } catch (err) {
      if (err instanceof ConnectorNotFoundError) return { reset: true };
      throw err;
    }
    const diffs = result.diffs ?? [];
    if (result.compare_timeout || diffs.length >= COMPARE_FILE_LIMIT) return { reset: true };
    const changes: FileChange[] = diffs.flatMap((d): FileChange[] =>
      d.deleted_file
        ? [{ kind: "delete", path: d.old_path }]
        : changeForDiffEntry({
            path: d.new_path,
            previousPath: d.renamed_file ? d.old_path : null,
            regular: isRegularFileMode(d.b_mode),
          }),
    );
    return { reset: false, changes, cursor: head };
  }

  async setupWebhook(callbackUrl: string): Promise<{ webhookId: string }> {
    const hook = (await this.api.ProjectHooks.add(this.ref, callbackUrl, {
      pushEvents: true,
      token: this.context.webhookSecret ?? undefined,
      enableSslVerification: true,
      ...(this.branch ? { pushEventsBranchFilter: this.branch } : {}),
    })) as { id: number };
    return { webhookId: String(hook.id) };
  }

  async removeWebhook(webhookId: string): Promise<void> {
    try {
      await this.api.ProjectHooks.remove(this.ref, Number(webhookId));
    } catch (err) {
      if (!(err instanceof ConnectorNotFoundError)) throw err;
    }
  }

  validateWebhook(request: WebhookRequest): boolean {
    return !!this.context.webhookSecret && verifyGitLabWebhook(this.context.webhookSecret, request);
  }

  parseWebhook(request: WebhookRequest): FileChange[] {
    return changesFromCommits(gitlabPushPayload.parse(JSON.parse(request.rawBody)).commits ?? []);
  }
}

export const gitlabConnector: ConnectorDefinition = {
  type: "gitlab",
  configSchema: gitlabConfigSchema,
  configFromName,
  create: (context) => new GitLabConnector(context),
  verifyWebhook: verifyGitLabWebhook,
};

/** Reads a stream up to `limit` bytes, then cancels it (the rest is never downloaded). */
async function readAtMost(body: ReadableStream<Uint8Array>, limit: number): Promise<Buffer> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      total += value.byteLength;
    }
  } finally {
    if (total >= limit) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  const all = Buffer.concat(parts);
  return all.length > limit ? all.subarray(0, limit) : all;
}
