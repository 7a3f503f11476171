import { readJson, withApi } from "@/lib/api/with-api";
import { requestRedeliver } from "@/lib/queue/request-redeliver";
import { getSourceOrThrow } from "@/lib/sources/get-source-or-throw";
import { sourceIdParams, syncBody } from "@/lib/sources/schemas";
import { requestSync } from "@/lib/queue/request-sync";

// POST /api/sources/:id/sync – queue a full or incremental sync (folded into one already waiting; confirmDeletes allows guarded deletions), or a redelivery of every file (its own job)
export const POST = withApi<{ id: string }>(async ({ request, params, actor }) => {
  const { id } = sourceIdParams.parse(params);
  const body = syncBody.parse(await readJson(request));
  await getSourceOrThrow(actor, id);
  if (body.type === "redeliver") return Response.json(await requestRedeliver(id), { status: 202 });
  const { jobId, coalesced } = await requestSync({
    sourceId: id,
    type: body.type,
    trigger: "api",
    confirmDeletes: body.confirmDeletes,
  });
  return Response.json({ jobId, coalesced }, { status: 202 });
});
