import "server-only";
import { getDb } from "@/lib/db/client";
import { listSources } from "@/lib/sources/list-sources";

/** The server-only data layer the dashboard pages read through. */
export async function dashboardSources() {
  return listSources(getDb(), { userId: null, role: "admin", via: "session" });
}
