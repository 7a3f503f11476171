import next from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

// The layers point one way (docs/architecture.md): a module never imports one above it, type
// imports included. Each pattern matches the "@/" alias and a relative path alike; cycles are
// checked by dependency-cruiser (.dependency-cruiser.cjs), which also sees type-only imports.
const below = (dir) => [`@/${dir}`, `@/${dir}/**`, `**/../${dir.split("/").pop()}`, `**/../${dir.split("/").pop()}/**`];
const libDirs = (...dirs) => dirs.flatMap((dir) => below(`lib/${dir}`));
const app = ["@/app", "@/app/**", "@/lib/dashboard", "**/../app", "**/../app/**"];
// Outside lib/db the database is the getDb() singleton (lib/db/client.ts says when a function takes DbOrTx).
const singletonOnly = {
  name: "@/lib/db/client",
  importNames: ["getPool"],
  message: "Use getDb() (lib/db/client.ts): pool clients and raw pool queries belong to lib/db.",
};
const restrict = (files, groups, message) => ({
  files,
  rules: {
    "no-restricted-imports": [
      "error",
      {
        paths: files.every((f) => f.startsWith("lib/db")) ? [] : [singletonOnly],
        patterns: groups.length > 0 ? [{ group: groups, message }] : [],
      },
    ],
  },
});

const config = [
  ...next,
  ...nextTs,
  {
    ignores: [
      ".next/**",
      "node_modules/**",
      ".data/**",
      ".test-data/**",
      "drizzle/**",
      "next-env.d.ts",
      "test-results/**",
      "playwright-report/**",
      "e2e/artifacts/**",
      "test/generated/**",
    ],
  },
  restrict(["app/**", "worker/**", "scripts/**", "server.ts"], [], ""),
  restrict(
    ["lib/**"],
    app.filter((p) => p !== "@/lib/dashboard"),
    "lib/ never imports app/: routes call lib, never back.",
  ),
  restrict(
    ["lib/connectors/**"],
    [
      ...libDirs("db", "api", "queue", "sync", "sources", "oauth", "auth", "jobs", "changes", "webhooks", "verify"),
      ...app,
    ],
    "Connectors speak only to providers and return values; the engine and lib/sources store them (tokens and secrets included).",
  ),
  restrict(
    ["lib/sync/**"],
    [...libDirs("queue", "sources", "jobs", "webhooks", "verify", "auth"), ...app],
    "The sync engine knows no queue, no feature and no route: the queue layer hands it callbacks.",
  ),
  restrict(
    ["lib/changes/**"],
    [...libDirs("queue", "sync", "sources", "jobs", "webhooks", "verify", "oauth"), ...app],
    "The changes outbox sits below the engine: the engine writes it, the queue and the API read it.",
  ),
  restrict(
    ["lib/auth/**", "lib/oauth/**"],
    [...libDirs("queue", "sync", "changes", "sources", "jobs", "webhooks", "verify"), ...app],
    "Accounts, tokens and secrets sit below the engine and the features that use them.",
  ),
  restrict(
    ["lib/pipeline/**"],
    [
      ...libDirs("db", "api", "queue", "sync", "changes", "sources", "oauth", "auth", "jobs", "webhooks", "verify"),
      ...app,
    ],
    "The pipeline takes a file and returns its outputs; the outbox and the engine store them.",
  ),
  restrict(
    ["lib/db/**"],
    [
      ...libDirs("api", "queue", "sync", "changes", "sources", "oauth", "auth", "jobs", "webhooks", "verify"),
      ...libDirs("connectors", "pipeline", "metrics"),
      ...app,
    ],
    "lib/db is the bottom layer: schema, client and transactions only.",
  ),
  {
    files: ["components/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              // Allowed: lib/client, lib/format, lib/providers, lib/highlighted-line, lib/api/problem and server actions ("use server" files).
              regex:
                "^@/(lib/(?!client(/|$)|format$|providers$|highlighted-line$|api/problem$)|app/(?!(.*/)?[a-z-]*actions$))|^(server-only|pg|pg-boss|drizzle-orm)(/|$)|^node:",
              message:
                "Components import only client-safe modules (lib/client, lib/format, lib/providers, lib/highlighted-line, lib/api/problem, server actions); server modules only as types.",
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
];
export default config;
