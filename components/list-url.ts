/** A list page's URL from its query: empty values are left out, arrays repeat their key. */
export function listHref(pathname: string, params: Record<string, string | string[] | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) search.append(key, v);
  }
  const text = search.toString();
  return text ? `${pathname}?${text}` : pathname;
}

/** The paging part of a list's URL: the next page remembers the cursors before it, so "Previous" works from a link. */
export function pagingHrefs(
  base: (paging: { cursor?: string; prev: string[] }) => string,
  paging: { cursor?: string; prev: string[] },
  nextCursor: string | null,
) {
  return {
    previous:
      paging.cursor !== undefined
        ? base({ cursor: paging.prev.at(-1) || undefined, prev: paging.prev.slice(0, -1) })
        : null,
    next: nextCursor ? base({ cursor: nextCursor, prev: [...paging.prev, paging.cursor ?? ""] }) : null,
  };
}
