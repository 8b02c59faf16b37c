/**
 * @module The invocation's outbound connections. A production Worker invocation has at most six connections
 * waiting for response headers; further fetches wait inside the runtime with their abort signal already
 * running, so a send queued behind slow endpoints could time out without ever leaving and be counted as its
 * endpoint's failure. Sends therefore wait here instead, first come first served, and start their timeout only
 * once they hold a connection (see `attempt.ts` and `post-webhook.ts`).
 *
 * One limiter per invocation (a queue batch, a DO alarm): the platform's limit is per invocation, not per isolate.
 *
 * Webhook sends get five of the six. The sixth is left to the invocation's own short calls that count toward the
 * same limit (R2 body reads and writes, queue sends): they never wait behind a hanging endpoint, and the runtime
 * never finds every connection idle-waiting with calls pending (it would then cancel the oldest connection).
 *
 * A connection is given back when response headers arrive, not after the body: from then on the runtime no
 * longer counts it, and the body read (at most 32 KB) stays under the same send's timeout, so it cannot hold up
 * the sends queued here for longer than that timeout.
 */

export const WEBHOOK_CONNECTIONS = 5;

export type Connection = {
  /** Idempotent: the send calls it when headers arrive, and its caller again when the attempt ends. */
  release(): void;
};

export class ConnectionLimiter {
  private open = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit = WEBHOOK_CONNECTIONS) {}

  /** Resolves once a connection is free; the caller must release it. */
  async acquire(): Promise<Connection> {
    if (this.open < this.limit) this.open += 1;
    // A released connection is handed straight to the next waiter, so `open` never drops below the queue's need.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const next = this.waiting.shift();
        if (next) next();
        else this.open -= 1;
      },
    };
  }
}
