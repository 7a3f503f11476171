import { authenticate } from "@/lib/api/with-api";
import { checkHealth } from "@/lib/health";

export const dynamic = "force-dynamic";

// GET /api/health – the database answers (open, for load balancers and `npm start`); signed-in callers and tokens also see the live workers
export async function GET(request: Request): Promise<Response> {
  const known = await authenticate(request).then(
    () => true,
    () => false,
  );
  const health = await checkHealth({ withWorkers: known });
  return Response.json(health, { status: health.ok ? 200 : 503 });
}
