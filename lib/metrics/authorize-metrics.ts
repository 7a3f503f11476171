import { AppError } from "@/lib/api/errors";
import { authenticate } from "@/lib/api/with-api";
import { safeEqual } from "@/lib/safe-equal";

/** GET /api/metrics is for operators: `Bearer $METRICS_TOKEN`, or an API token made without a user. */
export async function authorizeMetrics(request: Request): Promise<void> {
  const metricsToken = process.env.METRICS_TOKEN;
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
  if (metricsToken && bearer && safeEqual(bearer, metricsToken)) return;
  const actor = await authenticate(request);
  if (actor.via !== "token" || actor.userId !== null) {
    throw new AppError(
      "forbidden",
      "Metrics are for operators: use `Authorization: Bearer $METRICS_TOKEN` or a token made with `npm run cli -- tokens create <name>` (no --user).",
    );
  }
}
