/**
 * @module What a failed outbound fetch means, in words a person debugging an endpoint can act on.
 * workerd's own errors say little: "Network connection lost." covers both a refused connection and one cut
 * mid-response, and "internal error; reference = …" covers a name that does not resolve, a failed TLS
 * handshake and an answer that is not HTTP. What is known besides the message is how far the exchange got
 * (before or after the status line), so the explanation is built from both.
 */

export type FetchPhase =
  /** No status line arrived: connecting, sending the request, or waiting for the answer. */
  | { stage: "before-response" }
  /** The status line and headers arrived; reading the body failed. */
  | { stage: "reading-body"; status: number };

export function describeNetworkError(error: unknown, context: { url: string; timedOut: boolean; timeoutMs: number; phase: FetchPhase }): string {
  const { phase, timeoutMs } = context;
  const target = hostAndPort(context.url);
  if (context.timedOut) {
    return phase.stage === "reading-body"
      ? `timed out after ${timeoutMs} ms while reading the body of an HTTP ${phase.status} answer (the endpoint's timeoutMs)`
      : `timed out after ${timeoutMs} ms: the endpoint sent no response in time (its timeoutMs)`;
  }
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 300);
  if (phase.stage === "reading-body") {
    return `the connection was cut (reset or closed) while reading the body of an HTTP ${phase.status} answer, so the answer is incomplete (${message})`;
  }
  if (/network connection lost/i.test(message)) {
    return `could not connect to ${target}, or it closed the connection before answering: nothing may be listening on that port (connection refused), or the server dropped the request`;
  }
  const reference = /internal error; reference = (\w+)/i.exec(message)?.[1];
  if (reference) {
    return `could not connect to ${target} or read its answer: the host name may not resolve (DNS), the TLS handshake may have failed, or the answer is not valid HTTP (runtime reference ${reference})`;
  }
  return `could not complete the request to ${target}: ${message || "network error"}`;
}

function hostAndPort(raw: string): string {
  try {
    const url = new URL(raw);
    return url.port ? `${url.hostname}:${url.port}` : url.hostname;
  } catch {
    return raw;
  }
}
