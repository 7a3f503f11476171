import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { markClientAddress, trustedProxies } from "@/lib/auth/client-address";
import { errorField, logger } from "@/lib/log";

// The web server `npm start` runs (`node --import tsx server.ts [-p port] [-H host]`): Next.js
// for every page and API route, except the provider webhooks, whose route handlers this server
// calls directly. They are the same handlers (app/api/webhooks/*/route.ts, which `next dev`
// and `next start` still serve); Next's request pipeline around them cost more CPU than the
// handlers themselves, and providers send webhooks in bursts (see README, "Webhook load").
const { values: args } = parseArgs({
  options: { port: { type: "string", short: "p" }, hostname: { type: "string", short: "H" } },
});
const port = Number(args.port ?? (process.env.PORT || 3000));
const hostname = args.hostname;
(process.env as Record<string, string>).NODE_ENV ??= "production";

// Imported once NODE_ENV is set: Next.js and React read it when they load.
const [{ default: next }, { serveRoute }, github, gitlab, bitbucket, gdrive, dropbox] = await Promise.all([
  import("next"),
  import("@/lib/web/node-route"),
  import("@/app/api/webhooks/github/route"),
  import("@/app/api/webhooks/gitlab/route"),
  import("@/app/api/webhooks/bitbucket/route"),
  import("@/app/api/webhooks/gdrive/route"),
  import("@/app/api/webhooks/dropbox/route"),
]);
const direct: Record<string, Record<string, ((request: Request) => Promise<Response>) | undefined>> = {
  "/api/webhooks/github": github,
  "/api/webhooks/gitlab": gitlab,
  "/api/webhooks/bitbucket": bitbucket,
  "/api/webhooks/gdrive": gdrive,
  "/api/webhooks/dropbox": dropbox,
};

trustedProxies();
const app = next({ dev: false, dir: process.cwd(), port, hostname });
await app.prepare();
const handle = app.getRequestHandler();

const server = createServer((req, res) => {
  // Only this server sees the socket: it names the client (TRUSTED_PROXIES) for sign-in limits and setup.
  markClientAddress(req.headers, req.socket.remoteAddress);
  const path = (req.url ?? "/").split("?", 1)[0]!;
  const handler = direct[path]?.[(req.method ?? "GET").toUpperCase()];
  (handler ? serveRoute(handler, req, res) : handle(req, res)).catch((err: unknown) => {
    logger.error({ method: req.method, path, error: errorField(err) }, "request failed");
    res.destroy();
  });
});
server.listen(port, hostname, () =>
  logger.info({ url: `http://${hostname ?? "localhost"}:${port}` }, "web server listening"),
);

const stop = () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5_000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
