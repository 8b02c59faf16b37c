/**
 * @module How an attempt is stored and read back. D1 keeps what varies per attempt (URL, signature, the
 * endpoint's own headers, status, response headers, an excerpt of the body); R2 keeps the rest of a long
 * response body. Reading puts the full attempt together again, so the API shows what was sent and received.
 * Also the attempt lists across deliveries: an endpoint's or an event's attempts, newest first.
 */
import { and, desc, eq, lt, sql, type SQL } from "drizzle-orm";
import { USER_AGENT } from "../version";
import type { Database } from "./client";
import { byteLength, excerptOf, responseBody, storeResponseBody } from "./bodies";
import { attempts, deliveries, type Attempt, type RecordedRequest, type RecordedResponse, type StoredRequest, type StoredResponse } from "./schema";

/** An attempt as made, before it is stored: the full request headers and response body. */
export type SentAttempt = Omit<Attempt, "request" | "response"> & { request: RecordedRequest; response: RecordedResponse | null };

/** Set by attempt.ts on every request; all but the signature are derived again on read. */
const DERIVED_HEADERS = new Set(["content-type", "user-agent", "webhook-id", "webhook-timestamp", "webhook-signature"]);

/** The row to insert; writes the whole response body to R2 first when D1 keeps only an excerpt of it. */
export async function storedAttempt(env: Pick<Env, "BODIES">, sent: SentAttempt): Promise<Attempt> {
  const { request, response } = sent;
  const endpointHeaders = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !DERIVED_HEADERS.has(name.toLowerCase())));
  const storedRequest: StoredRequest = {
    url: request.url,
    ...(request.headers["webhook-signature"] !== undefined && { signature: request.headers["webhook-signature"] }),
    ...(Object.keys(endpointHeaders).length > 0 && { endpointHeaders }),
  };
  let storedResponse: StoredResponse | null = null;
  if (response) {
    const excerpt = excerptOf(response.body);
    if (excerpt.length < response.body.length) {
      // Without R2 the attempt is still recorded: its excerpt is shown and the body marked incomplete.
      await storeResponseBody(env, sent.id, response.body).catch((error) =>
        console.error(JSON.stringify({ msg: "response body not stored in R2; only its excerpt is kept", attemptId: sent.id, error: String(error) })),
      );
    }
    storedResponse = { status: response.status, headers: response.headers, excerpt, bodyBytes: byteLength(response.body), bodyTruncated: response.bodyTruncated };
  }
  return { ...sent, request: storedRequest, response: storedResponse };
}

/** The attempt as it was made, from its row; `eventId` and the row's start time give the derived headers. */
export async function sentAttempt(env: Pick<Env, "BODIES">, row: Attempt, eventId: string): Promise<SentAttempt> {
  return { ...row, request: requestOf(row, eventId), response: await responseOf(env, row) };
}

function requestOf(row: Attempt, eventId: string): RecordedRequest {
  const stored = row.request;
  if ("headers" in stored) return stored;
  const headers: Record<string, string> = {
    ...stored.endpointHeaders,
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    "webhook-id": eventId,
    "webhook-timestamp": String(Math.floor(row.startedAt.getTime() / 1000)),
  };
  if (stored.signature !== undefined) headers["webhook-signature"] = stored.signature;
  return { url: stored.url, headers };
}

async function responseOf(env: Pick<Env, "BODIES">, row: Attempt): Promise<RecordedResponse | null> {
  const stored = row.response;
  if (!stored || "body" in stored) return stored;
  const { excerpt, bodyBytes, bodyTruncated, ...rest } = stored;
  if (byteLength(excerpt) >= bodyBytes) return { ...rest, body: excerpt, bodyTruncated };
  const body = await responseBody(env, row.id);
  return { ...rest, body: body ?? excerpt, bodyTruncated: bodyTruncated || body === null };
}

export type AttemptFilter = {
  endpointId?: string;
  eventId?: string;
  applicationId?: string;
  /** true: answered 2xx; false: anything else (another status, or no answer). */
  succeeded?: boolean;
  /** 0 = no answer, 100…500 = that status class. */
  statusClass?: number;
  eventTypes?: readonly string[];
  since?: Date;
  until?: Date;
};

const statusOf = sql<number | null>`json_extract(${attempts.response}, '$.status')`;

function matching(projectId: string, filter: AttemptFilter): SQL | undefined {
  const ok = sql`coalesce(${statusOf} between 200 and 299, 0)`;
  return and(
    eq(attempts.projectId, projectId),
    filter.endpointId ? eq(deliveries.endpointId, filter.endpointId) : undefined,
    filter.eventId ? eq(deliveries.eventId, filter.eventId) : undefined,
    filter.applicationId ? eq(deliveries.applicationId, filter.applicationId) : undefined,
    filter.succeeded === undefined ? undefined : filter.succeeded ? sql`${ok} = 1` : sql`${ok} = 0`,
    filter.statusClass === undefined ? undefined : filter.statusClass === 0 ? sql`${statusOf} is null` : sql`${statusOf} / 100 = ${filter.statusClass / 100}`,
    filter.eventTypes?.length ? sql`${deliveries.eventType} in (select value from json_each(${JSON.stringify(filter.eventTypes)}))` : undefined,
    filter.since ? sql`${attempts.startedAt} >= ${filter.since.getTime()}` : undefined,
    filter.until ? sql`${attempts.startedAt} < ${filter.until.getTime()}` : undefined,
  );
}

/** Attempt ids are time-ordered like every id, so the list pages by id. */
export function attemptListQuery(db: Database, projectId: string, filter: AttemptFilter, page: { limit: number; cursor?: string }) {
  return db
    .select({ attempt: attempts, delivery: deliveries })
    .from(attempts)
    .innerJoin(deliveries, eq(deliveries.id, attempts.deliveryId))
    .where(and(matching(projectId, filter), page.cursor ? lt(attempts.id, page.cursor) : undefined))
    .orderBy(desc(attempts.id))
    .limit(page.limit + 1);
}

export async function listAttempts(db: Database, projectId: string, filter: AttemptFilter, page: { limit: number; cursor?: string }) {
  return attemptListQuery(db, projectId, filter, page).all();
}

export function attemptQuery(db: Database, projectId: string, eventId: string, attemptId: string) {
  return db
    .select({ attempt: attempts, delivery: deliveries })
    .from(attempts)
    .innerJoin(deliveries, eq(deliveries.id, attempts.deliveryId))
    .where(and(eq(attempts.projectId, projectId), eq(attempts.id, attemptId), eq(deliveries.eventId, eventId)));
}

export async function findAttempt(db: Database, projectId: string, eventId: string, attemptId: string) {
  return attemptQuery(db, projectId, eventId, attemptId).get();
}
