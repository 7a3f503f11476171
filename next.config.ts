import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // pg, pg-boss and PGlite are Node libraries; keep them out of the server bundle.
  serverExternalPackages: ["pg", "pg-boss", "@electric-sql/pglite", "@electric-sql/pglite-socket"],
  poweredByHeader: false,
};

export default nextConfig;
