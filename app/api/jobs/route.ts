import { searchParams, withApi } from "@/lib/api/with-api";
import { listJobs } from "@/lib/jobs/jobs";
import { listJobsQuery } from "@/lib/sources/schemas";

// GET /api/jobs – sync jobs, newest first (?status&type&trigger&sourceId&limit&cursor)
export const GET = withApi(async ({ request, actor }) => listJobs(actor, listJobsQuery.parse(searchParams(request))));
