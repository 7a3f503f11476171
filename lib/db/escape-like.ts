/** Escapes LIKE's wildcards so a path matches only itself. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, "\\$&");
}
