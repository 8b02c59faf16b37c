/**
 * @module Shared wire schemas and helpers for route definitions: pagination, problem responses, JSON bodies.
 */
import { z } from "@hono/zod-openapi";

const ProblemOut = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

const problem = (description: string) => ({ description, content: { "application/problem+json": { schema: ProblemOut } } });

/** The error answers every authenticated route can give. */
export const errorResponses = {
  401: problem("Missing or unknown API key"),
  404: problem("Not found (or belongs to another project)"),
  422: problem("A field is invalid; `errors` names it"),
} as const;

export const jsonBody = <T extends z.ZodType>(schema: T, description = "") => ({
  required: true,
  description,
  content: { "application/json": { schema } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const IdParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" } }) });

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(250).default(50),
  cursor: z.string().max(64).optional(),
});

export const ApplicationQuery = z
  .string()
  .min(1)
  .max(256)
  .optional()
  .openapi({ description: "Only what concerns this application (its id or uid)" });

export const TimeRangeQuery = z.object({
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});

/**
 * Any JSON value. The body was parsed from JSON, so anything present is valid; `z.json()` is avoided
 * because its recursive type sends the OpenAPI generator into endless recursion.
 */
export const AnyJson = (description: string) =>
  z.unknown().refine((value) => value !== undefined, "required: any JSON value").openapi({ description });

/** Queries fetch `limit + 1` rows; the extra one only says that another page exists. */
export function pageOf<T>(rows: T[], limit: number, cursorOf: (row: T) => string) {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? cursorOf(items.at(-1)!) : null };
}

export const listOf = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });

export const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

export const security = [{ bearer: [] }];
