/**
 * @module The one outbound HTTP call to a customer's endpoint: POST, no redirects, a hard timeout,
 * and at most 32 KB of the response body read and kept. It is made on a connection the caller already holds
 * (`connection-limiter.ts`), so the timeout measures the endpoint, never a wait for a free connection.
 */
import type { RecordedResponse } from "../db/schema";
import type { Connection } from "./connection-limiter";
import { describeNetworkError, type FetchPhase } from "./network-errors";

/** Header values that authenticate to the receiver: kept out of the attempt log and of header listings. */
export const SENSITIVE_HEADERS = /^(authorization|proxy-authorization|cookie|x-api-key|api-key|x-auth-token)$/i;

export const RESPONSE_BODY_LIMIT = 32 * 1024;

export type PostResult =
  | { kind: "response"; response: RecordedResponse; durationMs: number }
  | { kind: "error"; error: string; durationMs: number };

export async function postWebhook(request: {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Given back when the response headers arrive or the fetch fails. */
  connection: Connection;
}): Promise<PostResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const signal = AbortSignal.timeout(request.timeoutMs);
  let phase: FetchPhase = { stage: "before-response" };
  try {
    // `manual`: following a redirect would forward our signed request to a host nobody checked.
    const response = await fetch(request.url, { method: "POST", headers: request.headers, body: request.body, redirect: "manual", signal });
    // Headers are in: the runtime no longer counts this connection, and the body read below stays under `signal`.
    request.connection.release();
    phase = { stage: "reading-body", status: response.status };
    const { body, truncated } = await readCapped(response, RESPONSE_BODY_LIMIT);
    return {
      kind: "response",
      response: { status: response.status, headers: Object.fromEntries(response.headers), body, bodyTruncated: truncated },
      durationMs: elapsed(),
    };
  } catch (error) {
    request.connection.release();
    return { kind: "error", error: describeNetworkError(error, { url: request.url, timedOut: signal.aborted, timeoutMs: request.timeoutMs, phase }), durationMs: elapsed() };
  }
}

/** Reads at most `limit` bytes and then cancels the stream, so a huge answer never sits in memory. */
async function readCapped(response: Response, limit: number): Promise<{ body: string; truncated: boolean }> {
  if (!response.body) return { body: "", truncated: false };
  // A declared length within the limit bounds the body (HTTP framing), unless it is compressed: read it whole.
  const declared = response.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) <= limit && !response.headers.has("content-encoding")) return { body: await response.text(), truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  while (size < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  if (size >= limit) {
    truncated = size > limit || !(await reader.read()).done;
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(size, limit));
  let offset = 0;
  for (const part of chunks) {
    const take = part.subarray(0, bytes.length - offset);
    bytes.set(take, offset);
    offset += take.length;
  }
  return { body: new TextDecoder().decode(bytes), truncated };
}

