/**
 * @module Svix wire conventions shared by every Svix route: request parsing into 422s, `limit`/`iterator`
 * pages answered as `{data, iterator, prevIterator, done}`, and Svix's status enums.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { DeliveryStatus } from "../../db/schema";
import type { AppEnv } from "../env";
import { SvixError, fromZod } from "./errors";

export type SvixContext = Context<AppEnv>;

/** Svix's names (event types, uids, event ids): letters, digits, `-`, `_` and `.`. */
export const SvixName = z.string().min(1).max(256).regex(/^[a-zA-Z0-9\-_.]+$/, "letters, digits, - _ and . only");

export async function readBody<T extends z.ZodType>(c: SvixContext, schema: T): Promise<z.infer<T>> {
  let json: unknown;
  try {
    json = await c.req.json();
  } catch {
    throw new SvixError(400, "bad_request", "The body must be JSON (content-type: application/json).");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw fromZod(parsed.error, "body");
  return parsed.data;
}

export function readQuery<T extends z.ZodType>(c: SvixContext, schema: T): z.infer<T> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw fromZod(parsed.error, "query");
  return parsed.data;
}

/** A query flag as the SDK writes it (`true`/`false`). */
export const QueryFlag = (fallback: boolean) =>
  z
    .enum(["true", "false"])
    .optional()
    .transform((value) => (value === undefined ? fallback : value === "true"));

/** A comma-separated list, as the SDK writes arrays into queries. */
export const QueryList = z
  .string()
  .max(10_000)
  .optional()
  .transform((value) => (value ? value.split(",").filter(Boolean) : undefined));

export const QueryTime = z.iso.datetime({ offset: true }).optional().transform((value) => (value ? new Date(value) : undefined));

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(250).default(50),
  iterator: z.string().max(256).optional(),
  /** Ferry lists newest first; Svix's `order` is accepted and does not change that. */
  order: z.enum(["ascending", "descending"]).optional(),
});

export type ListResponse<T> = { data: T[]; iterator: string | null; prevIterator: string | null; done: boolean };

/**
 * Ferry's queries fetch `limit + 1` rows; the extra one only says that another page exists. The iterator is
 * the last row's key, so passing it back continues after it. Lists go one way only: `prevIterator` is null.
 */
export function listResponse<R, T>(rows: R[], limit: number, keyOf: (row: R) => string, out: (row: R, index: number) => T): ListResponse<T> {
  const items = rows.slice(0, limit);
  return { data: items.map(out), iterator: items.length > 0 ? keyOf(items.at(-1)!) : null, prevIterator: null, done: rows.length <= limit };
}

/** Svix's MessageStatus: 0 success, 1 pending, 2 fail, 3 sending (4 canceled is never used). */
const MESSAGE_STATUS = { success: 0, pending: 1, fail: 2, sending: 3 } as const;
export type MessageStatusText = keyof typeof MESSAGE_STATUS;

export function statusOfDelivery(status: DeliveryStatus): MessageStatusText {
  switch (status) {
    case "succeeded":
      return "success";
    case "failed":
      return "fail";
    case "sending":
      return "sending";
    default:
      // queued, retrying and paused (its endpoint is disabled) are all still to be delivered.
      return "pending";
  }
}

/** The delivery statuses a Svix status filter asks for. */
export const DELIVERY_STATUSES_OF: Record<number, DeliveryStatus[]> = {
  0: ["succeeded"],
  1: ["queued", "retrying", "paused"],
  2: ["failed"],
  3: ["sending"],
  4: [],
};

export const MessageStatusQuery = z.coerce.number().int().min(0).max(4).optional();

export const withStatus = (text: MessageStatusText) => ({ status: MESSAGE_STATUS[text], statusText: text });
