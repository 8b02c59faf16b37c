/**
 * @module The one place API errors are built: RFC 9457 problem+json from a closed set of kinds.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";

const PROBLEMS = {
  "malformed-request": { status: 400, title: "Malformed request" },
  unauthorized: { status: 401, title: "Unauthorized" },
  forbidden: { status: 403, title: "Forbidden" },
  "not-found": { status: 404, title: "Not found" },
  conflict: { status: 409, title: "Conflict" },
  "payload-too-large": { status: 413, title: "Payload too large" },
  "unsupported-media-type": { status: 415, title: "Unsupported media type" },
  "validation-failed": { status: 422, title: "Validation failed" },
  "service-unavailable": { status: 503, title: "Service unavailable" },
  internal: { status: 500, title: "Internal error" },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string }>;

export type ProblemKind = keyof typeof PROBLEMS;
export type FieldError = { path: string; message: string };

export class Problem extends HTTPException {
  constructor(
    readonly kind: ProblemKind,
    readonly detail: string,
    readonly errors?: FieldError[],
  ) {
    super(PROBLEMS[kind].status, { message: detail });
  }
}

export const notFound = (what: string) => new Problem("not-found", `${what} not found`);

export const invalidField = (path: string, message: string) =>
  new Problem("validation-failed", `${path}: ${message}`, [{ path, message }]);

/** `["events", 3, "payload"]` → `events[3].payload`, the form people write in code. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((out, part) => {
    if (typeof part === "number") return `${out}[${part}]`;
    return out ? `${out}.${String(part)}` : String(part);
  }, "");
}

export function fromZodError(error: ZodError, target: string): Problem {
  const errors = error.issues.flatMap((issue) => {
    const base = fieldPath(issue.path);
    // Unknown keys are reported once per key so the field that is wrong is named.
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ path: base ? `${base}.${key}` : key, message: "unknown field" }));
    }
    return [{ path: base || (target === "json" ? "body" : target), message: issue.message }];
  });
  const detail = errors.map((e) => `${e.path}: ${e.message}`).join("; ");
  return new Problem("validation-failed", detail, errors);
}

export function problemResponse(c: Context, problem: Problem): Response {
  const { status, title } = PROBLEMS[problem.kind];
  const body = {
    type: `https://ferry.dev/problems/${problem.kind}`,
    title,
    status,
    detail: problem.detail,
    instance: new URL(c.req.url).pathname,
    requestId: c.get("requestId"),
    ...(problem.errors ? { errors: problem.errors } : {}),
  };
  return c.newResponse(JSON.stringify(body), status, { "content-type": "application/problem+json" });
}

/** Hono's `onError`: known problems as they are, Hono's own 4xx mapped, anything else a bare 500. */
export function handleError(error: Error, c: Context): Response {
  if (error instanceof Problem) return problemResponse(c, error);
  if (error instanceof HTTPException && error.status < 500) {
    const kind = (Object.keys(PROBLEMS) as ProblemKind[]).find((k) => PROBLEMS[k].status === error.status) ?? "malformed-request";
    const detail = kind === "unsupported-media-type" ? "Send JSON with `content-type: application/json`." : error.message || PROBLEMS[kind].title;
    return problemResponse(c, new Problem(kind, detail));
  }
  console.error(JSON.stringify({ msg: "unhandled error", requestId: c.get("requestId"), error: String(error), stack: error.stack }));
  return problemResponse(c, new Problem("internal", "Something went wrong on our side. It has been logged."));
}
