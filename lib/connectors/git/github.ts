import { Octokit } from "@octokit/rest";
import { RequestError } from "@octokit/request-error";
import { z } from "zod";
import { ConnectorConfigError, ConnectorNotFoundError, ConnectorError, ConnectorFileError } from "../errors";
import { providerLimits } from "../provider-limits";
import type {
  Connector,
  ConnectorContext,
  ConnectorDefinition,
  Delta,
  FileChange,
  HeadValidator,
  RemoteFile,
  StreamFilesOptions,
  WebhookRequest,
} from "../types";
import { readTarGz } from "./archive";
import { errorForStatus, networkError, providerFetch } from "./provider-http";
import {
  BlobIndex,
  branchGoneError,
  changeForDiffEntry,
  changesFromCommits,
  configFromName,
  gitConfigFields,
  isRegularFileMode,
  verifyHmacSha256,
} from "./shared";
import { logger } from "@/lib/log";

export const githubConfigSchema = z.object({
  ...gitConfigFields,
  /** GitHub's id of the repository, stored at connect: a rename or transfer keeps it. */
  repoId: z.number().int().positive().optional(),
});

/** GitHub's compare lists at most this many files, with no truncation flag. */
const COMPARE_FILE_LIMIT = 300;
const TOKEN_HINT = "a fine-grained token with Contents: read, plus Webhooks: read and write when APP_URL is set";

/** GitHub's 409 "Git Repository is empty.": no commit yet, so nothing to index. */
class EmptyRepositoryError extends ConnectorError {}
/** GitHub's 422 "No commit found for SHA": the ref names nothing (a branch deleted or renamed). */
class UnknownRefError extends ConnectorError {}

export function githubApiUrl(): string {
  return (process.env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, "");
}

async function streamToBuffer(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  return Buffer.from(await new Response(stream).arrayBuffer());
}

export const githubPushPayload = z.object({
  ref: z.string(),
  after: z.string().optional(),
  deleted: z.boolean().optional(),
  commits: z
    .array(
      z.object({
        added: z.array(z.string()).optional(),
        modified: z.array(z.string()).optional(),
        removed: z.array(z.string()).optional(),
      }),
    )
    .optional(),
  repository: z.object({ full_name: z.string() }),
});

/** `X-Hub-Signature-256`: HMAC-SHA256 of the raw body with the hook's secret. */
function verifyGitHubWebhook(secret: string, request: WebhookRequest): boolean {
  return verifyHmacSha256(request.rawBody, secret, request.headers.get("x-hub-signature-256"));
}

class GitHubConnector implements Connector {
  private owner: string;
  private repo: string;
  private repoId: number | null;
  /** The full name the source had when this run found the repository renamed or transferred. */
  private movedFrom: string | null = null;
  /** The id was learnt during this run (a source connected before ids were stored): to store. */
  private learntId = false;
  private readonly octokit: Octokit;
  private branch: string | null;
  /** The pinned head; null once the repository is known to be empty (no commit). */
  private head: string | null | undefined = undefined;
  private readonly blobs = new BlobIndex();
  /** The validator of the last head lookup: the source's stored one until a lookup answers. */
  private validator: HeadValidator | null;

  constructor(private readonly context: ConnectorContext) {
    this.head = context.at ?? undefined;
    this.validator = context.headValidator ?? null;
    const [owner = "", ...rest] = String(context.config.repo ?? "").split("/");
    this.owner = owner;
    this.repo = rest.join("/");
    this.branch = (context.config.branch as string | undefined) ?? null;
    this.repoId = typeof context.config.repoId === "number" ? context.config.repoId : null;
    this.octokit = new Octokit({
      auth: context.token ?? undefined,
      baseUrl: githubApiUrl(),
      userAgent: "data-connector",
      request: { fetch: (url: string, init: RequestInit) => providerFetch(url, init, { provider: "github" }) },
      log: {
        debug: () => {},
        info: () => {},
        warn: (message: string) => logger.warn({ provider: "github" }, message),
        error: () => {},
      },
    });
  }

  private get fullName() {
    return `${this.owner}/${this.repo}`;
  }

  /** Every SDK call goes through here: provider errors become connector errors. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      if (err instanceof RequestError) {
        if (err.cause instanceof ConnectorError) throw err.cause;
        if (err.status === 500 && !err.response) throw networkError(err.cause ?? err, "GitHub");
        if (err.status === 409 && /empty/i.test(err.message)) throw new EmptyRepositoryError(err.message);
        if (err.status === 422 && /no commit found/i.test(err.message)) throw new UnknownRefError(err.message);
        const headers = (err.response?.headers ?? {}) as Record<string, string>;
        throw errorForStatus(err.status, headers, err.message, {
          provider: "GitHub",
          repo: this.fullName,
          tokenHint: TOKEN_HINT,
        });
      }
      throw networkError(err, "GitHub");
    }
  }

  async validateConnection(): Promise<void> {
    const { data } = await this.call(() => this.octokit.repos.get({ owner: this.owner, repo: this.repo }));
    this.repoId = data.id;
    this.learntId = false;
    if (this.branch) {
      await this.call(() =>
        this.octokit.repos.getBranch({ owner: this.owner, repo: this.repo, branch: this.branch! }),
      ).catch((err) => {
        if (err instanceof ConnectorNotFoundError) {
          throw new ConnectorConfigError(`The branch "${this.branch}" does not exist in ${this.fullName}.`, "branch");
        }
        throw err;
      });
    } else {
      this.branch = data.default_branch;
    }
  }

  settledConfig(): Record<string, unknown> {
    return {
      ...(this.branch ? { branch: this.branch } : {}),
      ...(this.repoId !== null ? { repoId: this.repoId } : {}),
      ...this.movedConfig(),
    };
  }

  headValidator(): HeadValidator | null {
    return this.validator;
  }

  movedConfig(): Record<string, unknown> | null {
    if (!this.movedFrom && !this.learntId) return null;
    return {
      ...(this.movedFrom ? { repo: this.fullName } : {}),
      ...(this.learntId && this.repoId !== null ? { repoId: this.repoId } : {}),
    };
  }

  /**
   * GitHub answers a renamed or transferred repository's old name with a 301 to its id (which
   * fetch follows): the repository is looked up again and its new name followed, when it is the
   * same repository (its id) as the one connected.
   */
  private async followMove(finalUrl: string | undefined): Promise<void> {
    if (!finalUrl) return;
    const path = new URL(finalUrl).pathname.toLowerCase();
    if (path.includes(`/repos/${this.fullName.toLowerCase()}/`)) return;
    const before = this.fullName;
    const { data } = await this.call(() => this.octokit.repos.get({ owner: this.owner, repo: this.repo }));
    if (data.full_name.toLowerCase() === before.toLowerCase()) return;
    if (this.repoId !== null && data.id !== this.repoId) {
      throw new ConnectorConfigError(
        `${before} now leads to another repository (${data.full_name}). Set the source's repository (config.repo) to the one to follow.`,
        "repo",
      );
    }
    const [owner = "", ...name] = data.full_name.split("/");
    this.owner = owner;
    this.repo = name.join("/");
    this.repoId = data.id;
    this.movedFrom = before;
  }

  /**
   * One tree request of a listing (`budget` counts the listing's): a listing of more than
   * PROVIDER_MAX_PAGES tree requests or PROVIDER_MAX_ENTRIES entries fails (never cut short,
   * which would read as files deleted), as other providers' listings do.
   */
  private async getTree(treeSha: string, recursive: boolean, budget: { pages: number; entries: number }) {
    const { maxPages, maxEntries } = providerLimits();
    const over = () =>
      new ConnectorError(
        `GitHub's tree of ${this.fullName} goes past ${maxPages} requests or ${maxEntries} entries, the limit for one listing (PROVIDER_MAX_PAGES, PROVIDER_MAX_ENTRIES).`,
      );
    if (++budget.pages > maxPages) throw over();
    const { data } = await this.call(() =>
      this.octokit.git.getTree({
        owner: this.owner,
        repo: this.repo,
        tree_sha: treeSha,
        ...(recursive ? { recursive: "1" } : {}),
      }),
    );
    budget.entries += data.tree.length;
    if (budget.entries > maxEntries) throw over();
    return data;
  }

  /**
   * The default branch when none is stored; and, once, the repository's id for a source
   * connected before ids were stored (then stored with the source).
   */
  private async resolveBranch(): Promise<string> {
    if (!this.branch || this.repoId === null) {
      const { data } = await this.call(() => this.octokit.repos.get({ owner: this.owner, repo: this.repo }));
      this.branch ??= data.default_branch;
      if (this.repoId === null) {
        this.repoId = data.id;
        this.learntId = true;
      }
    }
    return this.branch;
  }

  /**
   * The branch head, one request: a conditional one with the source's stored validator, which
   * GitHub answers 304 (costing no rate limit) when the head has not moved.
   */
  private async lookupHead(): Promise<string> {
    const branch = await this.resolveBranch();
    const cached = this.validator;
    try {
      const response = await this.call(() =>
        this.octokit.request("GET /repos/{owner}/{repo}/commits/{ref}", {
          owner: this.owner,
          repo: this.repo,
          ref: branch,
          headers: { accept: "application/vnd.github.sha", ...(cached ? { "if-none-match": cached.etag } : {}) },
        }),
      );
      await this.followMove(response.url);
      const sha = String(response.data).trim();
      const etag = response.headers.etag;
      this.validator = etag ? { etag, head: sha } : null;
      return sha;
    } catch (err) {
      if (cached && err instanceof ConnectorError && err.status === 304) return cached.head;
      if (err instanceof UnknownRefError) {
        const { data } = await this.call(() => this.octokit.repos.get({ owner: this.owner, repo: this.repo }));
        throw branchGoneError(this.fullName, branch, data.default_branch ?? null);
      }
      throw err;
    }
  }

  /** The branch head the sync reads, or null for an empty repository (an empty index). */
  async currentCursor(): Promise<string | null> {
    if (this.head === undefined) {
      try {
        this.head = await this.lookupHead();
      } catch (err) {
        if (!(err instanceof EmptyRepositoryError)) throw err;
        this.head = null;
      }
    }
    return this.head;
  }

  async *listFiles(start = "", recursive = true): AsyncIterable<RemoteFile> {
    const head = await this.currentCursor();
    if (head === null) return;
    const prefix = start.replace(/^\/+|\/+$/g, "");
    const budget = { pages: 0, entries: 0 };
    const data = await this.getTree(head, recursive, budget);
    if (data.truncated) {
      // Over 100,000 entries or 7 MB: walk the subtrees one by one instead (counting its entries afresh).
      budget.entries = 0;
      yield* this.walkTree(head, "", prefix, budget);
      return;
    }
    for (const entry of data.tree) {
      if (entry.type !== "blob" || !isRegularFileMode(entry.mode) || !entry.path || !entry.sha) continue;
      if (prefix && entry.path !== prefix && !entry.path.startsWith(`${prefix}/`)) continue;
      if (!recursive && entry.path.includes("/", prefix ? prefix.length + 1 : 0)) continue;
      const file = { path: entry.path, size: entry.size ?? null, version: entry.sha };
      this.blobs.set(file);
      yield file;
    }
  }

  private async *walkTree(
    treeSha: string,
    base: string,
    prefix: string,
    budget: { pages: number; entries: number },
  ): AsyncIterable<RemoteFile> {
    const data = await this.getTree(treeSha, false, budget);
    for (const entry of data.tree) {
      const path = base ? `${base}/${entry.path}` : entry.path!;
      if (entry.type === "tree" && (!prefix || prefix.startsWith(path) || path.startsWith(prefix)))
        yield* this.walkTree(entry.sha!, path, prefix, budget);
      if (entry.type !== "blob" || !isRegularFileMode(entry.mode)) continue;
      if (prefix && path !== prefix && !path.startsWith(`${prefix}/`)) continue;
      const file = { path, size: entry.size ?? null, version: entry.sha! };
      this.blobs.set(file);
      yield file;
    }
  }

  async getFileMetadata(path: string): Promise<RemoteFile | null> {
    const known = this.blobs.get(path);
    if (known) return known;
    const head = await this.currentCursor();
    if (head === null) return null;
    try {
      const { data } = await this.call(() =>
        this.octokit.repos.getContent({ owner: this.owner, repo: this.repo, path, ref: head }),
      );
      if (Array.isArray(data) || data.type !== "file") return null;
      const file = { path, size: data.size, version: data.sha };
      this.blobs.set(file);
      return file;
    } catch (err) {
      if (err instanceof ConnectorNotFoundError) return null;
      throw err;
    }
  }

  async getFileContent(path: string, listed?: RemoteFile): Promise<Buffer> {
    // A connector created for a batch has no listing of its own: the batch's entry says which blob.
    const known = this.blobs.get(path) ?? (listed?.version ? listed : undefined);
    const head = known?.version ? null : (listed?.ref ?? (await this.currentCursor()));
    if (!known?.version && !head) throw new ConnectorFileError(path, "the file is gone from the repository");
    try {
      // By blob SHA when the listing gave one (exact, up to 100 MB); else by path at the listed commit.
      const response = known?.version
        ? await this.call(() =>
            this.octokit.request("GET /repos/{owner}/{repo}/git/blobs/{file_sha}", {
              owner: this.owner,
              repo: this.repo,
              file_sha: known.version!,
              headers: { accept: "application/vnd.github.raw+json" },
              request: { parseSuccessResponseBody: false },
            }),
          )
        : await this.call(() =>
            this.octokit.request("GET /repos/{owner}/{repo}/contents/{path}", {
              owner: this.owner,
              repo: this.repo,
              path,
              ref: head!,
              headers: { accept: "application/vnd.github.raw+json" },
              request: { parseSuccessResponseBody: false },
            }),
          );
      return await streamToBuffer(response.data as unknown as ReadableStream<Uint8Array>);
    } catch (err) {
      if (err instanceof ConnectorNotFoundError)
        throw new ConnectorFileError(path, "the file is gone from the repository");
      throw err;
    }
  }

  /** The whole tree at the pinned commit in one tarball request (302 to the download host). */
  async *streamFiles(options: StreamFilesOptions = {}): AsyncIterable<RemoteFile & { content: Buffer }> {
    const head = await this.currentCursor();
    if (head === null) return;
    const response = await this.call(() =>
      this.octokit.request("GET /repos/{owner}/{repo}/tarball/{ref}", {
        owner: this.owner,
        repo: this.repo,
        ref: head,
        request: {
          parseSuccessResponseBody: false,
          fetch: (url: string, init: RequestInit) => providerFetch(url, init, { stream: true, provider: "github" }),
        },
      }),
    );
    try {
      yield* readTarGz(response.data as unknown as ReadableStream<Uint8Array>, options);
    } catch (err) {
      throw networkError(err, "GitHub");
    }
  }

  /**
   * Compare the stored commit with the head. Anything the compare cannot state exactly (a
   * force-push that left the old commit off the branch, an unknown base, 300 or more files)
   * is a reset: the sync then diffs the whole tree by blob SHA against the index.
   */
  async getChanges(base: string): Promise<Delta> {
    const head = await this.currentCursor();
    if (head === null) return { reset: true };
    if (head === base) return { reset: false, changes: [], cursor: head };
    let data;
    try {
      ({ data } = await this.call(() =>
        this.octokit.repos.compareCommitsWithBasehead({
          owner: this.owner,
          repo: this.repo,
          basehead: `${base}...${head}`,
        }),
      ));
    } catch (err) {
      if (err instanceof ConnectorNotFoundError) return { reset: true };
      throw err;
    }
    const files = data.files ?? [];
    if (data.status !== "ahead" || files.length >= COMPARE_FILE_LIMIT) return { reset: true };
    const changes: FileChange[] = [];
    const kept = files.filter((f) => f.status !== "removed" && f.status !== "unchanged");
    // The compare names no file modes: the head's tree says which paths are regular files.
    const modes =
      kept.length > 0
        ? await this.modesAt(
            head,
            kept.map((f) => f.filename),
          )
        : new Map();
    for (const f of files) {
      if (f.status === "removed") {
        changes.push({ kind: "delete", path: f.filename });
        continue;
      }
      if (f.status === "unchanged") continue;
      const file = { path: f.filename, size: null, version: f.sha, ref: head };
      const mode = modes.get(f.filename);
      const regular = mode !== undefined && isRegularFileMode(mode);
      if (regular) this.blobs.set(file);
      const previousPath = f.status === "renamed" ? f.previous_filename : null;
      changes.push(...changeForDiffEntry({ path: f.filename, previousPath, regular, file }));
    }
    return { reset: false, changes, cursor: head };
  }

  /**
   * The git mode of each of `paths` at `commit` (absent: no entry there): one recursive tree,
   * or, when GitHub truncates it, the trees on the way to each path's folder.
   */
  private async modesAt(commit: string, paths: string[]): Promise<Map<string, string>> {
    const modes = new Map<string, string>();
    const budget = { pages: 0, entries: 0 };
    const data = await this.getTree(commit, true, budget);
    if (!data.truncated) {
      for (const entry of data.tree) if (entry.path && entry.mode) modes.set(entry.path, entry.mode);
      return modes;
    }
    const trees = new Map<string, { path?: string; mode?: string; type?: string; sha?: string }[]>();
    const treeOf = async (sha: string) => {
      if (!trees.has(sha)) trees.set(sha, (await this.getTree(sha, false, budget)).tree);
      return trees.get(sha)!;
    };
    for (const path of paths) {
      const segments = path.split("/");
      let entries = await treeOf(commit);
      for (const [i, name] of segments.entries()) {
        const entry = entries.find((e) => e.path === name);
        if (!entry) break;
        if (i === segments.length - 1) modes.set(path, entry.mode ?? "");
        else if (entry.type === "tree" && entry.sha) entries = await treeOf(entry.sha);
        else break;
      }
    }
    return modes;
  }

  async setupWebhook(callbackUrl: string): Promise<{ webhookId: string }> {
    const { data } = await this.call(() =>
      this.octokit.repos.createWebhook({
        owner: this.owner,
        repo: this.repo,
        name: "web",
        active: true,
        events: ["push"],
        config: {
          url: callbackUrl,
          content_type: "json",
          secret: this.context.webhookSecret ?? undefined,
          insecure_ssl: "0",
        },
      }),
    );
    return { webhookId: String(data.id) };
  }

  async removeWebhook(webhookId: string): Promise<void> {
    try {
      await this.call(() =>
        this.octokit.repos.deleteWebhook({ owner: this.owner, repo: this.repo, hook_id: Number(webhookId) }),
      );
    } catch (err) {
      // Already gone (or the repository is): nothing left to remove.
      if (!(err instanceof ConnectorNotFoundError)) throw err;
    }
  }

  validateWebhook(request: WebhookRequest): boolean {
    return !!this.context.webhookSecret && verifyGitHubWebhook(this.context.webhookSecret, request);
  }

  parseWebhook(request: WebhookRequest): FileChange[] {
    const payload = githubPushPayload.parse(JSON.parse(request.rawBody));
    return changesFromCommits(payload.commits ?? []);
  }
}

export const githubConnector: ConnectorDefinition = {
  type: "github",
  configSchema: githubConfigSchema,
  configFromName,
  create: (context) => new GitHubConnector(context),
  verifyWebhook: verifyGitHubWebhook,
};
