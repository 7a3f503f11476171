import { withApi } from "@/lib/api/with-api";
import { activitySummary } from "@/lib/jobs/activity";

// GET /api/activity – queued and running jobs, and the last day's failures (the dashboard's indicator)
export const GET = withApi(async ({ actor }) => activitySummary(actor));
