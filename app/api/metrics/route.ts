import { withPublicApi } from "@/lib/api/with-api";
import { authorizeMetrics } from "@/lib/metrics/authorize-metrics";
import { METRICS_CONTENT_TYPE, renderMetrics } from "@/lib/metrics/render-metrics";

export const dynamic = "force-dynamic";

// GET /api/metrics – Prometheus text: this server's and every live worker's counters, and the database's figures
export const GET = withPublicApi(async ({ request }) => {
  await authorizeMetrics(request);
  return new Response(await renderMetrics(), { headers: { "content-type": METRICS_CONTENT_TYPE } });
});
