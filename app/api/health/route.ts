import { checkHealth } from "@/lib/health";

export const dynamic = "force-dynamic";

// GET /api/health – database and queue reachable (open, for load balancers and `npm start`)
export async function GET(): Promise<Response> {
  const health = await checkHealth();
  return Response.json(health, { status: health.ok ? 200 : 503 });
}
