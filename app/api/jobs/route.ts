import { searchParams, withApi } from "@/lib/api/with-api";
import { getDb } from "@/lib/db/client";
import { listJobs } from "@/lib/jobs/jobs";
import { listJobsQuery } from "@/lib/sources/schemas";

// GET /api/jobs – sync jobs, newest first (?sourceId&status&limit)
export const GET = withApi(async ({ request, actor }) => ({
  jobs: await listJobs(getDb(), actor, listJobsQuery.parse(searchParams(request))),
}));
