import { z } from "zod";
import { ConnectorConfigError, ConnectorError, ConnectorFileError, ConnectorSyncError } from "../errors";
import { providerLimits } from "../provider-limits";
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
import type { GuardedFetchOptions } from "../host-guard";
import { readTarGz } from "./archive";
import { errorForStatus, networkError, providerFetch, readBody } from "./provider-http";
import { branchGoneError, changeForDiffEntry, configFromName, gitConfigFields, verifyHmacSha256 } from "./shared";

export const bitbucketConfigSchema = z.object({
  ...gitConfigFields,
  /** Bitbucket's UUID of the repository (`{…}`), stored at connect: a rename or transfer keeps it. */
  repoId: z
    .string()
    .regex(/^\{[0-9a-f-]{1,64}\}$/i, "repoId must be a repository UUID in braces")
    .optional(),
});

const TOKEN_HINT =
  "a repository access token with repository read (and webhooks when APP_URL is set), or username:app-password";

export function bitbucketApiUrl(): string {
  return (process.env.BITBUCKET_API_URL || "https://api.bitbucket.org/2.0").replace(/\/+$/, "");
}

export function bitbucketWebUrl(): string {
  return (process.env.BITBUCKET_URL || "https://bitbucket.org").replace(/\/+$/, "");
}

const pageOf = <T extends z.ZodType>(item: T) => z.object({ values: z.array(item), next: z.string().optional() });
/** A commit_file's `attributes`: "link" (symlink), "subrepository", "executable", "binary", "lfs". */
const commitFile = z.object({
  path: z.string(),
  attributes: z.union([z.string(), z.array(z.string())]).nullish(),
});
const diffstatEntry = z.object({
  status: z.string(),
  old: commitFile.nullish(),
  new: commitFile.nullish(),
});

const repositoryPayload = z.object({
  full_name: z.string(),
  uuid: z.string().optional(),
  mainbranch: z.object({ name: z.string() }).nullish(),
});
const branchPayload = z.object({
  target: z.object({
    hash: z.string(),
    repository: z.object({ full_name: z.string().optional(), uuid: z.string().optional() }).nullish(),
  }),
});

const sameUuid = (a: string, b: string) =>
  a.replace(/[{}]/g, "").toLowerCase() === b.replace(/[{}]/g, "").toLowerCase();

/** The one git rule: symlinks and submodules are not files of the index. */
function isRegularCommitFile(file: z.infer<typeof commitFile>): boolean {
  const attributes = [file.attributes ?? []].flat();
  return !attributes.includes("link") && !attributes.includes("subrepository");
}

/**
 * Bitbucket Cloud over fetch (it has no maintained SDK). Its listings carry no blob SHA, so a
 * re-sync's listing is read from the archive (one download) with the SHA computed locally,
 * which keeps "unchanged blob, no read" true here too.
 */
/** `X-Hub-Signature` (`sha256=<hex>`, HMAC of the raw body with the hook's secret). */
function verifyBitbucketWebhook(secret: string, request: WebhookRequest): boolean {
  const signature = request.headers.get("x-hub-signature") ?? request.headers.get("x-hub-signature-256");
  return verifyHmacSha256(request.rawBody, secret, signature);
}

class BitbucketConnector implements Connector {
  private repo: string;
  /** The repository's UUID once known: a name that no longer leads to it is followed by it. */
  private repoUuid: string | null;
  /** The UUID was learnt during this run (a source connected before ids were stored): to store. */
  private learntId = false;
  /** The full name the source had when this run found the repository renamed or transferred. */
  private movedFrom: string | null = null;
  private branch: string | null;
  private head: string | null;
  /** 429s in a row: Bitbucket's answers name no wait (a rolling hour), so back off 1 s, 2 s, 4 s... up to a minute. */
  private rateLimited = 0;

  constructor(private readonly context: ConnectorContext) {
    this.head = context.at ?? null;
    this.repo = String(context.config.repo ?? "");
    this.repoUuid = typeof context.config.repoId === "string" ? context.config.repoId : null;
    this.branch = (context.config.branch as string | undefined) ?? null;
  }

  private authorization(): Record<string, string> {
    const token = this.context.token;
    if (!token) return {};
    // username:app-password is Basic; anything else is an access token (Bearer).
    return {
      authorization: token.includes(":") ? `Basic ${Buffer.from(token).toString("base64")}` : `Bearer ${token}`,
    };
  }

  private async request(url: string, init: RequestInit = {}, options?: GuardedFetchOptions): Promise<Response> {
    let response: Response;
    try {
      response = await providerFetch(
        url,
        {
          ...init,
          headers: {
            accept: "application/json",
            ...this.authorization(),
            ...(init.headers as Record<string, string>),
          },
        },
        { ...options, provider: "bitbucket" },
      );
    } catch (err) {
      throw networkError(err, "Bitbucket");
    }
    if (response.ok) {
      this.rateLimited = 0;
      return response;
    }
    const text = await response.text();
    let message = text;
    try {
      message = String((JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text);
    } catch {
      // keep the text
    }
    const rateLimitFallbackMs = response.status === 429 ? Math.min(60_000, 1000 * 2 ** this.rateLimited++) : undefined;
    throw errorForStatus(response.status, response.headers, message, {
      provider: "Bitbucket",
      repo: this.repo,
      tokenHint: TOKEN_HINT,
      rateLimitFallbackMs,
    });
  }

  /** A `next` link the token may follow: one on the API host, nowhere else. */
  private onApiHost(link: string): string {
    const api = new URL(bitbucketApiUrl());
    let next: URL;
    try {
      next = new URL(link);
    } catch {
      throw new ConnectorSyncError("Bitbucket sent a malformed next-page link.");
    }
    if (next.origin !== api.origin)
      throw new ConnectorSyncError(`Bitbucket sent a next-page link off its API host (${next.host}); not followed.`);
    return next.toString();
  }

  private api(path: string): string {
    return `${bitbucketApiUrl()}/repositories/${this.repo}${path}`;
  }

  private async json<T extends z.ZodType>(url: string, schema: T): Promise<z.infer<T>> {
    return schema.parse(await (await this.request(url)).json());
  }

  /** Connect (and a PATCH of the config) looks the repository up by the name given, and stores its UUID. */
  async validateConnection(): Promise<void> {
    const repo = await this.json(this.api(""), repositoryPayload);
    this.repoUuid = repo.uuid ?? null;
    this.learntId = false;
    if (this.branch) {
      await this.request(this.api(`/refs/branches/${encodeURIComponent(this.branch)}`)).catch((err) => {
        if (err instanceof ConnectorConfigError)
          throw new ConnectorConfigError(`The branch "${this.branch}" does not exist in ${this.repo}.`, "branch");
        throw err;
      });
    } else {
      this.branch = repo.mainbranch?.name ?? "main";
    }
  }

  settledConfig(): Record<string, unknown> {
    return {
      ...(this.branch ? { branch: this.branch } : {}),
      ...(this.repoUuid ? { repoId: this.repoUuid } : {}),
      ...this.movedConfig(),
    };
  }

  movedConfig(): Record<string, unknown> | null {
    if (!this.movedFrom && !this.learntId) return null;
    return {
      ...(this.movedFrom ? { repo: this.repo } : {}),
      ...(this.learntId && this.repoUuid ? { repoId: this.repoUuid } : {}),
    };
  }

  /** The branch's head commit; null when the name leads to no such branch (or no repository). */
  private async lookupBranch(): Promise<z.infer<typeof branchPayload> | null> {
    try {
      return await this.json(this.api(`/refs/branches/${encodeURIComponent(this.branch!)}`), branchPayload);
    } catch (err) {
      if (err instanceof ConnectorConfigError) return null;
      throw err;
    }
  }

  /**
   * Bitbucket answers a renamed or transferred repository's old name with a 404 (or, once
   * another repository took the name, with that one): the repository is looked up by its UUID
   * (`{}` stands for whichever workspace holds it) and its new name followed. True when it moved.
   */
  private async followMove(): Promise<boolean> {
    if (!this.repoUuid) return false;
    let repo: z.infer<typeof repositoryPayload>;
    try {
      repo = await this.json(
        `${bitbucketApiUrl()}/repositories/${encodeURIComponent("{}")}/${encodeURIComponent(this.repoUuid)}`,
        repositoryPayload,
      );
    } catch (err) {
      if (err instanceof ConnectorConfigError) return false;
      throw err;
    }
    if (repo.full_name.toLowerCase() === this.repo.toLowerCase()) return false;
    this.movedFrom ??= this.repo;
    this.repo = repo.full_name;
    return true;
  }

  async currentCursor(): Promise<string> {
    if (!this.head) {
      if (!this.branch) await this.validateConnection();
      let ref = await this.lookupBranch();
      const found = ref?.target.repository?.uuid;
      const elsewhere = !!(found && this.repoUuid && !sameUuid(found, this.repoUuid));
      if ((!ref || elsewhere) && (await this.followMove())) ref = await this.lookupBranch();
      else if (elsewhere)
        throw new ConnectorConfigError(
          `${this.repo} now leads to another repository. Set the source's repository (config.repo) to the one to follow.`,
          "repo",
        );
      if (!ref) {
        // The repository answers (else its own 404 stands): the branch is what is gone.
        const repo = await this.json(this.api(""), repositoryPayload);
        throw branchGoneError(this.repo, this.branch!, repo.mainbranch?.name ?? null);
      }
      const uuid = ref.target.repository?.uuid;
      if (!this.repoUuid && uuid) {
        this.repoUuid = uuid;
        this.learntId = true;
      }
      this.head = ref.target.hash;
    }
    return this.head;
  }

  async *listFiles(start = "", recursive = true): AsyncIterable<RemoteFile> {
    const head = await this.currentCursor();
    const prefix = start.replace(/^\/+|\/+$/g, "");
    for await (const entry of this.streamFiles({ accept: () => true })) {
      if (prefix && entry.path !== prefix && !entry.path.startsWith(`${prefix}/`)) continue;
      if (!recursive && entry.path.includes("/", prefix ? prefix.length + 1 : 0)) continue;
      yield { path: entry.path, size: entry.size, version: entry.version, lastModified: entry.lastModified, ref: head };
    }
  }

  async getFileMetadata(path: string): Promise<RemoteFile | null> {
    const head = await this.currentCursor();
    try {
      const meta = await this.json(
        this.api(`/src/${head}/${path.split("/").map(encodeURIComponent).join("/")}?format=meta`),
        z.object({ type: z.string(), size: z.number().optional(), attributes: commitFile.shape.attributes }),
      );
      return meta.type === "commit_file" && isRegularCommitFile({ path, attributes: meta.attributes })
        ? { path, size: meta.size ?? null, version: null, ref: head }
        : null;
    } catch (err) {
      if (err instanceof ConnectorConfigError) return null;
      throw err;
    }
  }

  async getFileContent(path: string, listed?: RemoteFile): Promise<Buffer> {
    // At the commit the file was listed at (a batch's connector has no pinned head of its own).
    const head = listed?.ref ?? (await this.currentCursor());
    try {
      return await readBody(
        await this.request(this.api(`/src/${head}/${path.split("/").map(encodeURIComponent).join("/")}`), {
          headers: { accept: "*/*" },
        }),
      );
    } catch (err) {
      if (err instanceof ConnectorConfigError)
        throw new ConnectorFileError(path, "the file is gone from the repository");
      throw err;
    }
  }

  /** `https://bitbucket.org/{workspace}/{repo}/get/{commit}.tar.gz`, streamed. */
  async *streamFiles(options: StreamFilesOptions = {}): AsyncIterable<RemoteFile & { content: Buffer }> {
    const head = await this.currentCursor();
    const response = await this.request(
      `${bitbucketWebUrl()}/${this.repo}/get/${head}.tar.gz`,
      { headers: { accept: "*/*" } },
      { stream: true },
    );
    try {
      yield* readTarGz(response.body!, options);
    } catch (err) {
      throw networkError(err, "Bitbucket");
    }
  }

  /** Two-dot diffstat from the stored commit to the head, every page (up to 500 entries each). */
  async getChanges(base: string): Promise<Delta> {
    const head = await this.currentCursor();
    if (head === base) return { reset: false, changes: [], cursor: head };
    const changes: FileChange[] = [];
    let url: string | undefined = this.api(`/diffstat/${head}..${base}?topic=false&pagelen=500`);
    const { maxPages } = providerLimits();
    try {
      for (let pages = 1; url; pages++) {
        if (pages > maxPages)
          throw new ConnectorError(
            `Bitbucket's diffstat of ${this.repo} goes past ${maxPages} pages, the limit for one listing (PROVIDER_MAX_PAGES).`,
          );
        const page: z.infer<ReturnType<typeof pageOf<typeof diffstatEntry>>> = await this.json(
          url,
          pageOf(diffstatEntry),
        );
        for (const d of page.values) {
          // diffstat names files that exist at the head: no metadata request needed before reading them.
          const file = d.new ? { path: d.new.path, size: null, version: null, ref: head } : undefined;
          if (d.status === "removed" && d.old) changes.push({ kind: "delete", path: d.old.path });
          else if (d.new && file) {
            const previousPath = d.status === "renamed" ? d.old?.path : null;
            changes.push(
              ...changeForDiffEntry({ path: file.path, previousPath, regular: isRegularCommitFile(d.new), file }),
            );
          }
        }
        url = page.next && this.onApiHost(page.next);
      }
    } catch (err) {
      if (err instanceof ConnectorConfigError) return { reset: true };
      throw err;
    }
    return { reset: false, changes, cursor: head };
  }

  async setupWebhook(callbackUrl: string): Promise<{ webhookId: string }> {
    const response = await this.request(this.api("/hooks"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        description: "Data Connector",
        url: callbackUrl,
        active: true,
        events: ["repo:push"],
        secret: this.context.webhookSecret ?? undefined,
      }),
    });
    const hook = z.object({ uuid: z.string() }).parse(await response.json());
    return { webhookId: hook.uuid };
  }

  async removeWebhook(webhookId: string): Promise<void> {
    try {
      await this.request(this.api(`/hooks/${encodeURIComponent(webhookId)}`), { method: "DELETE" });
    } catch (err) {
      if (!(err instanceof ConnectorConfigError)) throw err;
    }
  }

  validateWebhook(request: WebhookRequest): boolean {
    return !!this.context.webhookSecret && verifyBitbucketWebhook(this.context.webhookSecret, request);
  }

  /** Bitbucket push payloads list no files: an incremental sync always asks diffstat. */
  parseWebhook(): FileChange[] {
    return [];
  }
}

export const bitbucketConnector: ConnectorDefinition = {
  type: "bitbucket",
  configSchema: bitbucketConfigSchema,
  configFromName,
  create: (context) => new BitbucketConnector(context),
  verifyWebhook: verifyBitbucketWebhook,
};
