import next from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

// The layers point one way (docs/architecture.md): a module never imports one above it, type
// imports included. Each pattern matches the "@/" alias and a relative path alike; cycles are
// checked by dependency-cruiser (.dependency-cruiser.cjs), which also sees type-only imports.
const below = (dir) => [`@/${dir}`, `@/${dir}/**`, `**/../${dir.split("/").pop()}`, `**/../${dir.split("/").pop()}/**`];
const restrict = (files, groups, message) => ({
  files,
  rules: { "no-restricted-imports": ["error", { patterns: [{ group: groups, message }] }] },
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
  restrict(
    ["lib/connectors/**"],
    [...below("lib/db"), ...below("lib/api"), ...below("lib/queue"), ...below("lib/sync")],
    "Connectors speak only to providers and return values; the engine and lib/sources store them.",
  ),
  restrict(
    ["lib/sync/**"],
    [...below("lib/queue"), "@/app", "@/app/**", "**/../app", "**/../app/**"],
    "The sync engine knows no queue and no route: the queue layer hands it callbacks.",
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
