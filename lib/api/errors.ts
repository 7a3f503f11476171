import { ZodError } from "zod";
import { errorField, logger } from "@/lib/log";
import type { FieldError, Problem } from "./problem";

const STATUS_BY_CODE = {
  bad_request: 400,
  invalid_json: 400,
  unknown_source_type: 400,
  invalid_config: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof STATUS_BY_CODE;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly errors?: FieldError[],
    /** Extra members of the problem body (RFC 9457 extensions), e.g. a restart `cursor`. */
    readonly extensions?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "AppError";
    this.status = STATUS_BY_CODE[code];
  }
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function zodFieldErrors(error: ZodError): FieldError[] {
  return error.issues.map((issue) => ({ path: issue.path.join(".") || "(body)", message: issue.message }));
}

export function toProblem(error: unknown): Problem {
  if (error instanceof AppError) {
    return {
      type: `urn:data-connector:error:${error.code}`,
      title: TITLES[error.status] ?? "Error",
      status: error.status,
      detail: error.message,
      ...(error.errors ? { errors: error.errors } : {}),
      ...error.extensions,
    };
  }
  if (error instanceof ZodError) {
    const errors = zodFieldErrors(error);
    return {
      type: "urn:data-connector:error:validation_failed",
      title: TITLES[422]!,
      status: 422,
      detail: errors.map((e) => `${e.path}: ${e.message}`).join("; "),
      errors,
    };
  }
  return {
    type: "urn:data-connector:error:internal",
    title: TITLES[500]!,
    status: 500,
    detail: "Something went wrong on our side. The details are in the server log.",
  };
}

export function problemResponse(error: unknown): Response {
  const problem = toProblem(error);
  if (problem.status >= 500)
    logger.error({ error: errorField(error), stack: (error as Error)?.stack }, "unexpected API error");
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { "content-type": "application/problem+json" },
  });
}
