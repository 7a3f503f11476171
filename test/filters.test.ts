import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import picomatch from "picomatch";
import * as sourcesRoute from "@/app/api/sources/route";
import { createFileFilter } from "@/lib/sync/filters";
import { call, closeAll, operatorToken, resetDb, tempDir } from "./helpers";

const root = tempDir("dc-filter-roots-");
process.env.LOCAL_SOURCE_ROOTS = root;

const PATHOLOGICAL = "**/*a*a*a*a*a*a*a*a*a*a*a*a*c";

/** The fastest of three runs: what the matcher costs, not the shared machine's scheduling. */
function timed(run: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    run();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

describe("filters", () => {
  test("a pathological glob is matched in linear time", () => {
    const filter = createFileFilter({ include: [PATHOLOGICAL], exclude: [PATHOLOGICAL] });
    filter.checkPath("warm/up"); // the first match also compiles the code that runs the rest
    for (const length of [30, 64, 1000]) {
      const name = "a".repeat(length);
      const ms = timed(() => assert.equal(filter.checkPath(`dir/${name}`).keep, false));
      assert.ok(ms < 50, `${length}-character name took ${ms.toFixed(0)} ms`);
    }
    assert.equal(filter.checkPath(`dir/${"a".repeat(12)}c`).keep, false, "matched by exclude");
    assert.deepEqual(createFileFilter({ include: [PATHOLOGICAL] }).checkPath(`d/${"a".repeat(12)}c`), {
      keep: true,
      language: null,
    });
  });

  test("globs keep picomatch's semantics", () => {
    const patterns = [
      "**/*.md",
      "*.md",
      "src/**",
      "docs/**/*.md",
      "**/*.{ts,tsx}",
      "**/test/**",
      "a/**/b",
      "?.js",
      "[abc]*.js",
      "**/.github/**",
      "**",
      "*",
      "lib/*.ts",
      "!**/*.md",
      "@(a|b).js",
      "+(a|b).js",
      "**/*.[jt]s",
      "./src/*.ts",
      "file[1-3].txt",
      "**/*.min.*",
      "a+b/**",
      "(x)/*.js",
    ];
    const paths = [
      "README.md",
      "docs/a.md",
      "docs/x/y/z.md",
      "src/index.ts",
      "src/deep/x.tsx",
      "src/a.test.ts",
      "test/a.js",
      "pkg/test/b.js",
      "a/b",
      "a/x/y/b",
      "a.js",
      "ab.js",
      "b.js",
      ".github/workflows/ci.yml",
      "x/.github/a",
      ".env",
      "lib/a.ts",
      "lib/x/a.ts",
      "file2.txt",
      "file4.txt",
      "dist.min.js",
      "a/b.min.css",
      "a+b/c",
      "(x)/y.js",
      "x/y.js",
    ];
    for (const pattern of patterns) {
      const expected = picomatch(pattern, { dot: true });
      const filter = createFileFilter({ include: [pattern] });
      for (const p of paths) {
        assert.equal(filter.checkPath(p).keep, expected(p), `${pattern} against ${p}`);
      }
    }
    const both = createFileFilter({ include: ["src/**", "docs/**"], exclude: ["**/*.test.ts", "docs/private/**"] });
    assert.equal(both.checkPath("src/a.ts").keep, true);
    assert.equal(both.checkPath("src/a.test.ts").keep, false);
    assert.equal(both.checkPath("docs/private/x.md").keep, false);
    assert.equal(both.checkPath("docs/x.md").keep, true);
    assert.equal(both.checkPath("lib/x.ts").keep, false);
  });
});

describe("POST /api/sources filter limits", () => {
  let token: string;
  before(async () => {
    await resetDb();
    token = await operatorToken();
  });
  beforeEach(async () => {
    await resetDb();
    token = await operatorToken();
  });
  after(closeAll);

  const create = (config: Record<string, unknown>) =>
    call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "local", name: "limits", config: { path: mkdtempSync(path.join(root, "s-")), ...config } },
    });

  test("more than 100 patterns, or one longer than 256 characters, is a 400 naming the field", async () => {
    const many = await create({ include: Array.from({ length: 101 }, (_, i) => `dir${i}/**`) });
    assert.equal(many.status, 400, JSON.stringify(many.json));
    assert.match(many.json.detail, /config\.include/);
    assert.match(many.json.detail, /100/);
    const long = await create({ exclude: [`${"x".repeat(257)}/**`] });
    assert.equal(long.status, 400, JSON.stringify(long.json));
    assert.ok(long.json.errors.some((e: { path: string }) => e.path.startsWith("config.exclude")));
    assert.match(long.json.detail, /256/);
    const negatedExtglob = await create({ include: ["src/**/!(*.test).ts"] });
    assert.equal(negatedExtglob.status, 400, JSON.stringify(negatedExtglob.json));
    assert.match(negatedExtglob.json.detail, /config\.include\.0: .*linear time.*exclude/);
    const ok = await create({ include: Array.from({ length: 100 }, (_, i) => `dir${i}/**`), exclude: [PATHOLOGICAL] });
    assert.equal(ok.status, 201, JSON.stringify(ok.json));
  });

  test("maxFileSize above MAX_FILE_SIZE_LIMIT (50 MB by default) is a 400", async () => {
    const over = await create({ maxFileSize: 52428801 });
    assert.equal(over.status, 400, JSON.stringify(over.json));
    assert.match(over.json.detail, /config\.maxFileSize/);
    assert.match(over.json.detail, /52428800/);
    const at = await create({ maxFileSize: 52428800 });
    assert.equal(at.status, 201, JSON.stringify(at.json));
  });
});
