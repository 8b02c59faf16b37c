/**
 * @module One attempt: build the signed request, POST it, and describe what happened as an attempt row.
 * The body is the event's stored bytes; only the timestamp and signature change between attempts.
 */
import { newId } from "../db/ids";
import { activeSecrets } from "../db/endpoints";
import type { SentAttempt } from "../db/attempts";
import type { ConnectionLimiter } from "../outbound/connection-limiter";
import { SENSITIVE_HEADERS, postWebhook, type PostResult } from "../outbound/post-webhook";
import { checkEndpointUrl } from "../outbound/url-guard";
import { sign } from "../signing/standard-webhooks";
import { USER_AGENT } from "../version";
import type { ClaimedDelivery } from "./claim";
import { parseRetryAfter } from "./schedule";

export type AttemptOutcome = {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  /** From `Retry-After` on a 429 or 503. */
  retryAfterSeconds: number | null;
  /** The receiver answered 410 Gone: it asks never to be called again. */
  gone: boolean;
};

export async function attemptDelivery(
  { delivery, endpoint, body }: ClaimedDelivery,
  options: { allowPrivateNetwork: boolean; connections: ConnectionLimiter },
): Promise<{ attempt: SentAttempt; outcome: AttemptOutcome }> {
  // Checked again at send time: the deployment's network policy may have changed since the endpoint was saved.
  const verdict = checkEndpointUrl(endpoint.url, options);
  // The attempt starts, and is signed and timed, once it has a connection: waiting for one is not the endpoint's time.
  const connection = verdict.ok ? await options.connections.acquire() : null;
  try {
    const now = Date.now();
    const timestamp = Math.floor(now / 1000);
    const headers: Record<string, string> = {
      ...endpoint.headers,
      "content-type": "application/json",
      "user-agent": USER_AGENT,
      "webhook-id": delivery.eventId,
      "webhook-timestamp": String(timestamp),
    };
    let notSent: string | null = verdict.ok ? null : `not sent: the URL ${verdict.reason}`;
    try {
      headers["webhook-signature"] = await sign(activeSecrets(endpoint.secrets, now).map((secret) => secret.value), delivery.eventId, timestamp, body);
    } catch (error) {
      // A secret that cannot be used (edited outside the API) fails the attempt, so the schedule still ends.
      notSent ??= `not sent: the request could not be signed (${String(error)})`;
    }
    const recordedHeaders = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, SENSITIVE_HEADERS.test(name) ? "[redacted]" : value]));
    const result =
      notSent === null && connection
        ? await postWebhook({ url: endpoint.url, headers, body, timeoutMs: endpoint.timeoutMs, connection })
        : { kind: "error" as const, error: notSent!, durationMs: 0 };
    return describeAttempt({ delivery, endpoint }, { now, recordedHeaders, result });
  } finally {
    connection?.release();
  }
}

function describeAttempt(
  { delivery, endpoint }: Pick<ClaimedDelivery, "delivery" | "endpoint">,
  { now, recordedHeaders, result }: { now: number; recordedHeaders: Record<string, string>; result: PostResult },
): { attempt: SentAttempt; outcome: AttemptOutcome } {
  const response = result.kind === "response" ? result.response : null;
  const status = response?.status ?? null;
  const ok = status !== null && status >= 200 && status < 300;
  const retryAfterSeconds = status === 429 || status === 503 ? parseRetryAfter(response!.headers["retry-after"] ?? null, now) : null;
  const note = response && !ok ? statusNote(response, retryAfterSeconds) : null;
  const attempt: SentAttempt = {
    id: newId("attempt", now),
    projectId: delivery.projectId,
    deliveryId: delivery.id,
    // The claim counted this attempt already (claim.ts).
    attempt: delivery.attemptCount,
    trigger: delivery.nextTrigger,
    startedAt: new Date(now),
    durationMs: result.durationMs,
    request: { url: endpoint.url, headers: recordedHeaders },
    response,
    error: result.kind === "error" ? result.error : note,
  };
  const outcome: AttemptOutcome = {
    ok,
    statusCode: status,
    error: result.kind === "error" ? result.error : ok ? null : (note ?? `HTTP ${status}`),
    retryAfterSeconds,
    gone: status === 410,
  };
  return { attempt, outcome };
}

/** What a failed status means beyond its number, for the attempt log; null when the number says it all. */
function statusNote(response: { status: number; headers: Record<string, string> }, retryAfterSeconds: number | null): string | null {
  const { status, headers } = response;
  if (status >= 300 && status < 400) {
    const target = headers.location ? `redirects to ${headers.location.slice(0, 300)}` : "answers with a redirect but no Location";
    return `HTTP ${status}: the endpoint ${target}; Ferry does not follow redirects, so point the endpoint at the final URL`;
  }
  if (retryAfterSeconds !== null) {
    return `HTTP ${status} with Retry-After: ${headers["retry-after"].slice(0, 100)}; the next attempt waits as asked, within the retry schedule's shortest and longest wait`;
  }
  return null;
}
