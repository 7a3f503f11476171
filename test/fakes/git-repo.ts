import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { tempDir } from "../helpers";

export type TreeEntry = { path: string; mode: string; type: string; sha: string; size: number };
export type DiffEntry = {
  status: "added" | "modified" | "removed" | "renamed";
  path: string;
  previousPath?: string;
  sha: string;
  /** Git modes of the old and new side ("000000" where a side does not exist). */
  oldMode: string;
  mode: string;
};

const READ_ONLY = new Set(["rev-parse", "ls-tree", "cat-file", "merge-base", "diff"]);

/** A real git repository that the provider fakes answer from: trees, archives and diffs are git's own. */
export class GitRepo {
  readonly dir: string;
  constructor(public branch = "main") {
    this.dir = tempDir("dc-git-");
    this.git("init", "-q", "-b", branch);
    this.git("config", "user.email", "test@example.com");
    this.git("config", "user.name", "Test");
    this.git("config", "commit.gpgsign", "false");
  }

  /**
   * Answers of read-only git commands until the repository changes (commit, resetTo): the
   * fakes ask the same questions (rev-parse main, compare a...b) for every request, and a git
   * process each time made the fake, not the code under test, the cost of load runs.
   */
  private readonly answers = new Map<string, string | Buffer>();

  git(...args: string[]): string {
    const key = `s\0${args.join("\0")}`;
    const known = this.answers.get(key);
    if (typeof known === "string") return known;
    const out = execFileSync("git", args, { cwd: this.dir, encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });
    if (READ_ONLY.has(args[0]!)) this.answers.set(key, out);
    return out;
  }

  private gitBuffer(...args: string[]): Buffer {
    const key = `b\0${args.join("\0")}`;
    const known = this.answers.get(key);
    if (Buffer.isBuffer(known)) return known;
    const out = execFileSync("git", args, { cwd: this.dir, maxBuffer: 512 * 1024 * 1024 });
    if (READ_ONLY.has(args[0]!) && out.length < 1024 * 1024) this.answers.set(key, out);
    return out;
  }

  /** Writes (string/Buffer) or deletes (null) files, renames `renames`, commits, returns the new head. */
  commit(
    files: Record<string, string | Buffer | null>,
    renames: Record<string, string> = {},
    message = "change",
  ): string {
    this.answers.clear();
    for (const [from, to] of Object.entries(renames)) {
      mkdirSync(path.dirname(path.join(this.dir, to)), { recursive: true });
      this.git("mv", from, to);
    }
    for (const [rel, content] of Object.entries(files)) {
      const full = path.join(this.dir, rel);
      if (content === null) rmSync(full, { force: true });
      else {
        mkdirSync(path.dirname(full), { recursive: true });
        writeFileSync(full, content);
      }
    }
    this.git("add", "-A");
    this.git("commit", "-q", "--allow-empty", "-m", message);
    return this.head();
  }

  /**
   * Commits entries that are not regular files: symlinks (mode 120000, the target as blob) and
   * submodules (gitlinks, mode 160000, pointing at a commit of another repository).
   */
  commitLinks(links: { symlinks?: Record<string, string>; submodules?: Record<string, string> }): string {
    this.answers.clear();
    for (const [rel, target] of Object.entries(links.symlinks ?? {})) {
      const full = path.join(this.dir, rel);
      mkdirSync(path.dirname(full), { recursive: true });
      rmSync(full, { force: true });
      symlinkSync(target, full);
      this.git("add", rel);
    }
    for (const [rel, sha] of Object.entries(links.submodules ?? {})) {
      // An unpopulated submodule is an empty folder: `git add -A` in later commits leaves it be.
      rmSync(path.join(this.dir, rel), { force: true, recursive: true });
      mkdirSync(path.join(this.dir, rel), { recursive: true });
      this.git("update-index", "--add", "--cacheinfo", `160000,${sha},${rel}`);
    }
    this.git("commit", "-q", "--allow-empty", "-m", "links");
    return this.head();
  }

  /** Renames a branch (the default one included, as GitHub's "rename branch" does). */
  renameBranch(from: string, to: string): void {
    this.answers.clear();
    this.git("branch", "-m", from, to);
    if (this.branch === from) this.branch = to;
  }

  /** Moves the branch back (a force-push's first half); the next commit diverges. */
  resetTo(sha: string): void {
    this.answers.clear();
    this.git("reset", "-q", "--hard", sha);
  }

  head(ref = this.branch): string {
    return this.git("rev-parse", ref).trim();
  }

  resolve(ref: string): string | null {
    try {
      return this.git("rev-parse", "--verify", "--quiet", `${ref}^{commit}`).trim();
    } catch {
      return null;
    }
  }

  /** No commit yet (a repository created empty). */
  isEmpty(): boolean {
    return this.resolve("HEAD") === null;
  }

  hasBranch(name: string): boolean {
    return this.resolve(`refs/heads/${name}`) !== null;
  }

  /** Every blob under a commit or tree, recursively (`recursive` false: one level, subtrees included). */
  tree(sha: string, { recursive = true } = {}): TreeEntry[] {
    const out = this.git("ls-tree", ...(recursive ? ["-r"] : []), "-l", "-z", sha);
    return out
      .split("\0")
      .filter(Boolean)
      .map((line) => {
        const [meta, p] = line.split("\t");
        const [mode, type, objectSha, size] = meta!.trim().split(/\s+/);
        return { path: p!, mode: mode!, type: type!, sha: objectSha!, size: size === "-" ? 0 : Number(size) };
      });
  }

  blob(sha: string): Buffer | null {
    try {
      return this.gitBuffer("cat-file", "blob", sha);
    } catch {
      return null;
    }
  }

  fileAt(ref: string, p: string): TreeEntry | null {
    return this.tree(ref).find((e) => e.path === p) ?? null;
  }

  mergeBase(a: string, b: string): string {
    return this.git("merge-base", a, b).trim();
  }

  /** The two-dot diff with renames, as providers' compare APIs report it. */
  diff(base: string, head: string): DiffEntry[] {
    const out = this.git("diff", "--raw", "-z", "-M", "--no-abbrev", base, head);
    const parts = out.split("\0").filter((x) => x !== "");
    const entries: DiffEntry[] = [];
    for (let i = 0; i < parts.length;) {
      const meta = parts[i++]!.split(" ");
      const modes = { oldMode: meta[0]!.replace(/^:/, ""), mode: meta[1]! };
      const newSha = meta[3]!;
      const code = meta[4]![0]!;
      if (code === "R") {
        const from = parts[i++]!;
        const to = parts[i++]!;
        entries.push({ status: "renamed", path: to, previousPath: from, sha: newSha, ...modes });
      } else {
        const p = parts[i++]!;
        const status = code === "A" ? "added" : code === "D" ? "removed" : "modified";
        entries.push({ status, path: p, sha: newSha, ...modes });
      }
    }
    return entries;
  }

  /** `git archive` of `sha` as .tar.gz, every entry under `prefix/`, streamed. */
  archive(sha: string, prefix: string): Readable {
    const child = spawn("git", ["archive", "--format=tar.gz", `--prefix=${prefix}/`, sha], { cwd: this.dir });
    return child.stdout;
  }
}
