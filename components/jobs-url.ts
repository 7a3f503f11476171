import { listHref } from "./list-url";

export type JobsQuery = {
  status: string[];
  type: string[];
  trigger: string[];
  sourceId?: string;
  cursor?: string;
  prev: string[];
};

/** The jobs page's URL for a query. */
export function jobsHref(query: JobsQuery): string {
  return listHref("/jobs", {
    status: query.status,
    type: query.type,
    trigger: query.trigger,
    sourceId: query.sourceId,
    cursor: query.cursor,
    prev: query.cursor ? query.prev : undefined,
  });
}
