import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { providerFileUrl } from "@/lib/sources/provider-file-url";

const SHA = "0123456789abcdef0123456789abcdef01234567";

describe("providerFileUrl: the file at its provider", () => {
  const saved = { GITHUB_URL: process.env.GITHUB_URL };
  afterEach(() => {
    if (saved.GITHUB_URL === undefined) delete process.env.GITHUB_URL;
    else process.env.GITHUB_URL = saved.GITHUB_URL;
  });

  test("GitHub: the blob at the indexed commit, each path segment escaped", () => {
    delete process.env.GITHUB_URL;
    const url = providerFileUrl(
      { type: "github", config: { repo: "acme/widgets" }, cursor: SHA },
      { path: "src/a b#1.ts", providerId: null },
    );
    assert.equal(url, `https://github.com/acme/widgets/blob/${SHA}/src/a%20b%231.ts`);
  });

  test("GitHub Enterprise: the host from GITHUB_URL", () => {
    process.env.GITHUB_URL = "https://ghe.example.com/";
    const url = providerFileUrl(
      { type: "github", config: { repo: "acme/widgets" }, cursor: SHA },
      { path: "README.md", providerId: null },
    );
    assert.equal(url, `https://ghe.example.com/acme/widgets/blob/${SHA}/README.md`);
  });

  test("GitLab: the source's host, /-/blob/ at the commit; gitlab.com by default", () => {
    assert.equal(
      providerFileUrl(
        { type: "gitlab", config: { repo: "group/sub/proj", host: "https://gitlab.example.com" }, cursor: SHA },
        { path: "lib/x.rb", providerId: null },
      ),
      `https://gitlab.example.com/group/sub/proj/-/blob/${SHA}/lib/x.rb`,
    );
    assert.equal(
      providerFileUrl({ type: "gitlab", config: { repo: "g/p" }, cursor: SHA }, { path: "x", providerId: null }),
      `https://gitlab.com/g/p/-/blob/${SHA}/x`,
    );
  });

  test("Bitbucket: /src/ at the commit", () => {
    assert.equal(
      providerFileUrl(
        { type: "bitbucket", config: { repo: "team/repo" }, cursor: SHA },
        { path: "a/b.py", providerId: null },
      ),
      `https://bitbucket.org/team/repo/src/${SHA}/a/b.py`,
    );
  });

  test("a git source not synced yet (no commit) has no link; neither has one whose cursor is not a commit", () => {
    assert.equal(
      providerFileUrl({ type: "github", config: { repo: "a/b" }, cursor: null }, { path: "x", providerId: null }),
      null,
    );
    assert.equal(
      providerFileUrl(
        { type: "github", config: { repo: "a/b" }, cursor: "not a sha" },
        { path: "x", providerId: null },
      ),
      null,
    );
  });

  test("Google Drive: the file's view page by its Drive id", () => {
    assert.equal(
      providerFileUrl(
        { type: "gdrive", config: { folderId: "f" }, cursor: "123" },
        { path: "Doc.md", providerId: "1AbC_d-9" },
      ),
      "https://drive.google.com/file/d/1AbC_d-9/view",
    );
    assert.equal(
      providerFileUrl({ type: "gdrive", config: {}, cursor: null }, { path: "Doc.md", providerId: null }),
      null,
    );
  });

  test("Dropbox: the preview of the file's full path (the source's folder and the file's path)", () => {
    assert.equal(
      providerFileUrl(
        { type: "dropbox", config: { path: "/Team Docs/" }, cursor: null },
        { path: "notes/a b.md", providerId: null },
      ),
      "https://www.dropbox.com/preview/Team%20Docs/notes/a%20b.md",
    );
    assert.equal(
      providerFileUrl({ type: "dropbox", config: { path: "" }, cursor: null }, { path: "a.md", providerId: null }),
      "https://www.dropbox.com/preview/a.md",
    );
  });

  test("local folders have no provider page", () => {
    assert.equal(
      providerFileUrl({ type: "local", config: { path: "/srv/x" }, cursor: null }, { path: "a.md", providerId: "1" }),
      null,
    );
  });
});
