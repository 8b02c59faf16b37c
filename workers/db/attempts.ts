/**
 * @module How an attempt is stored and read back. D1 keeps what varies per attempt (URL, signature, the
 * endpoint's own headers, status, response headers, an excerpt of the body); R2 keeps the rest of a long
 * response body. Reading puts the full attempt together again, so the API shows what was sent and received.
 */
import { USER_AGENT } from "../version";
import { byteLength, excerptOf, responseBody, storeResponseBody } from "./bodies";
import type { Attempt, RecordedRequest, RecordedResponse, StoredRequest, StoredResponse } from "./schema";

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
