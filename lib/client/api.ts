import type { FieldError, Problem } from "@/lib/api/problem";

/** A problem+json answer from this app's API, as the browser sees it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * Calls this app's JSON API from the browser with the session cookie. Mutations send JSON; a
 * problem answer becomes an ApiError carrying its field errors.
 */
export async function apiFetch<T>(
  url: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method ?? "GET",
      signal: init.signal,
      credentials: "same-origin",
      headers: init.body !== undefined ? { "content-type": "application/json" } : undefined,
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, "The app cannot be reached. Check your connection; the page retries on its own.");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const problem = body as Partial<Problem> | undefined;
    throw new ApiError(res.status, problem?.detail ?? `The request failed (${res.status}).`, problem?.errors ?? []);
  }
  return body as T;
}
