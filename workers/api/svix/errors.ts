/**
 * @module Svix's error bodies: `{code, detail}` for 4xx and `{detail: [{loc, msg, type}]}` for 422, which the
 * Svix SDKs parse into their ApiException. Ferry's own problems (auth, URL checks, sizes) are translated here.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import { Problem, type ProblemKind } from "../problem";

export type ValidationItem = { loc: string[]; msg: string; type: string };

/** A 4xx (or 5xx) answer in Svix's shape. */
export class SvixError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** A 422 naming every field that is wrong, as `loc: ["body", "field", …]`. */
export class SvixValidationError extends Error {
  constructor(readonly items: ValidationItem[]) {
    super(items.map((item) => `${item.loc.join(".")}: ${item.msg}`).join("; "));
  }
}

export const notFound = (what: string) => new SvixError(404, "not_found", `${what} not found`);
export const conflict = (detail: string) => new SvixError(409, "conflict", detail);
export const invalid = (loc: string[], msg: string) => new SvixValidationError([{ loc, msg, type: "value_error" }]);

export function fromZod(error: ZodError, where: "body" | "query"): SvixValidationError {
  return new SvixValidationError(
    error.issues.map((issue) => ({ loc: [where, ...issue.path.map(String)], msg: issue.message, type: issue.code === "invalid_type" ? "type_error" : "value_error" })),
  );
}

const CODES: Record<ProblemKind, string> = {
  "malformed-request": "bad_request",
  unauthorized: "authentication_failed",
  forbidden: "insufficient_access",
  "not-found": "not_found",
  conflict: "conflict",
  "payload-too-large": "payload_too_large",
  "unsupported-media-type": "bad_request",
  "validation-failed": "validation",
  "service-unavailable": "service_unavailable",
  internal: "internal_error",
};

/** The Svix router's `onError`. A Ferry problem naming fields becomes a 422 at those fields of the body. */
export function svixErrorResponse(error: Error, c: Context): Response {
  if (error instanceof SvixValidationError) return c.json({ detail: error.items }, 422);
  if (error instanceof SvixError) return c.json({ code: error.code, detail: error.detail }, error.status);
  if (error instanceof Problem) {
    if (error.kind === "validation-failed" && error.errors) {
      return c.json({ detail: error.errors.map((e) => ({ loc: ["body", ...e.path.split(/[.[\]]+/).filter(Boolean)], msg: e.message, type: "value_error" })) }, 422);
    }
    return c.json({ code: CODES[error.kind], detail: error.detail }, error.status as ContentfulStatusCode);
  }
  if (error instanceof HTTPException && error.status < 500) return c.json({ code: "bad_request", detail: error.message || "Bad request" }, error.status as ContentfulStatusCode);
  console.error(JSON.stringify({ msg: "unhandled error", api: "svix", requestId: c.get("requestId"), error: String(error), stack: error.stack }));
  return c.json({ code: "internal_error", detail: "Something went wrong on our side. It has been logged." }, 500);
}
