// A real HTTP webhook receiver for e2e tests: records every request and answers per path as the test programs it.
import http from "node:http";
import { waitList } from "./waiters.mjs";

/**
 * @typedef {object} Behaviour  how one path answers
 * @property {number} [status]  default 200
 * @property {string|object} [body]  an object is sent as JSON; default empty
 * @property {Record<string, string>} [headers]  e.g. `{"Retry-After": "2"}`
 * @property {number} [delayMs]  wait before answering (a client that gives up first is recorded as `aborted`)
 * @property {boolean} [hang]  never answer; the socket stays open until the client gives up or `close()`
 * @property {number} [resetAfterBytes]  send the status line, headers (announcing a longer body) and this many
 *   body bytes, then reset the connection (TCP RST) mid-response
 * @property {string} [raw]  write these bytes to the socket instead of an HTTP response, then close it
 *   (a malformed response)
 * @property {number} [streamBytes]  answer `status` with a body of this many bytes, written in 64 KB chunks as
 *   fast as the client reads them; `bodyBytesWritten` records how far it got before the client hung up
 * @property {number} [failTimes]  the first N requests answer `failStatus` (with this behaviour's body, headers,
 *   delay), every later one answers `then`
 * @property {number} [failStatus]  default 500
 * @property {number|Behaviour} [then]  default `{status: 200}`; a number is a status
 *
 * @typedef {Behaviour | Behaviour[] | ((req: ReceivedRequest) => Behaviour | Promise<Behaviour>)} Route
 *   an array is a sequence, one entry per request, the last one repeating
 *
 * @typedef {object} ReceivedRequest
 * @property {string} method
 * @property {string} path  pathname only
 * @property {string} query  the search string, e.g. `?a=1` or ``
 * @property {Record<string, string|string[]>} headers  lower-case names
 * @property {string} body  the raw body, utf-8
 * @property {number} receivedAt  `Date.now()` when the request line arrived
 * @property {number} index  0-based position among requests to this path
 * @property {number} [status]  what the receiver answered (unset while delayed or hanging)
 * @property {boolean} [aborted]  the client closed the connection before we answered
 * @property {number} [bodyBytesWritten]  with `streamBytes`: body bytes the client took before it closed
 */

/**
 * Start a receiver on a free port of 127.0.0.1. Unknown paths answer 404 (and are still recorded).
 * @returns {Promise<Receiver>}
 * @example
 * const rx = await startReceiver();
 * rx.route("/flaky", { failTimes: 2, failStatus: 500, then: 200 });
 * // ... create an endpoint with url rx.url("/flaky") and post an event ...
 * const [first, second, third] = await rx.waitFor("/flaky", 3, 15_000);
 */
export async function startReceiver() {
  const receiver = new Receiver();
  await receiver.listen();
  return receiver;
}

export class Receiver {
  /** @type {Map<string, Route>} */ #routes = new Map();
  /** @type {ReceivedRequest[]} */ #log = [];
  /** Requests so far per path, so a request's `index` costs no scan of the log (the bench sends tens of thousands). @type {Map<string, number>} */
  #countByPath = new Map();
  #waiters = waitList();
  /** @type {Set<NodeJS.Timeout>} */ #timers = new Set();
  #server = http.createServer((req, res) => this.#handle(req, res));
  port = 0;

  /** @internal */
  listen() {
    return new Promise((resolve) => {
      this.#server.listen(0, "127.0.0.1", () => {
        this.port = /** @type {import("node:net").AddressInfo} */ (this.#server.address()).port;
        resolve(undefined);
      });
    });
  }

  /** @param {string} [path] @returns {string} `http://127.0.0.1:<port><path>` */
  url(path = "/") {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Program how `path` answers (replaces an earlier route for it). @param {string} path @param {Route} route */
  route(path, route) {
    this.#routes.set(path, route);
    return this;
  }

  /** @param {string} [path] @returns {ReceivedRequest[]} requests to `path` (all paths when omitted), oldest first */
  requests(path) {
    return this.#log.filter((r) => path === undefined || r.path === path);
  }

  /**
   * Resolve once `path` has received at least `count` requests.
   * @param {string} path @param {number} [count] @param {number} [timeoutMs]
   * @returns {Promise<ReceivedRequest[]>}
   */
  waitFor(path, count = 1, timeoutMs = 10_000) {
    return this.#waiters.until(
      () => {
        const got = this.requests(path);
        return got.length >= count ? got : undefined;
      },
      timeoutMs,
      () => `receiver: ${this.requests(path).length}/${count} requests to ${path} after ${timeoutMs} ms`,
    );
  }

  /** Forget recorded requests; routes stay, but their per-path counts (`failTimes`, sequences) start again at 0. */
  reset() {
    this.#log = [];
    this.#countByPath.clear();
  }

  /** Stop listening and cut open connections, including delayed and hanging ones. @returns {Promise<void>} */
  close() {
    for (const t of this.#timers) clearTimeout(t);
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  /** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
  async #handle(req, res) {
    const receivedAt = Date.now();
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const url = new URL(req.url ?? "/", "http://receiver");
    const index = this.#countByPath.get(url.pathname) ?? 0;
    this.#countByPath.set(url.pathname, index + 1);
    /** @type {ReceivedRequest} */
    const record = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.search,
      headers: /** @type {Record<string, string|string[]>} */ ({ ...req.headers }),
      body: Buffer.concat(chunks).toString("utf8"),
      receivedAt,
      index,
    };
    this.#log.push(record);
    this.#waiters.notify();

    const route = this.#routes.get(url.pathname);
    const b = route === undefined ? { status: 404, body: "no route" } : await pick(route, record);
    res.once("close", () => {
      if (!res.writableFinished) record.aborted = true;
    });
    if (b.hang) return;
    if (b.raw !== undefined) return void res.socket?.end(b.raw);
    if (b.delayMs) {
      await new Promise((r) => {
        const t = setTimeout(() => (this.#timers.delete(t), r(undefined)), b.delayMs);
        this.#timers.add(t);
      });
      if (res.destroyed) return;
    }
    if (b.resetAfterBytes !== undefined) return resetMidResponse(res, record, b);
    if (b.streamBytes !== undefined) return streamBody(res, record, b);
    const json = typeof b.body === "object" && b.body !== null;
    const payload = json ? JSON.stringify(b.body) : (b.body ?? "");
    record.status = b.status ?? 200;
    res.writeHead(record.status, { ...(json && { "content-type": "application/json" }), ...b.headers });
    res.end(payload);
  }
}

/** @param {http.ServerResponse} res @param {ReceivedRequest} record @param {Behaviour} b */
function resetMidResponse(res, record, b) {
  record.status = b.status ?? 200;
  const n = /** @type {number} */ (b.resetAfterBytes);
  res.writeHead(record.status, { "content-type": "text/plain", "content-length": String(n * 2 + 1000) });
  res.write("x".repeat(n), () => setTimeout(() => res.socket?.resetAndDestroy(), 50));
}

/** @param {http.ServerResponse} res @param {ReceivedRequest} record @param {Behaviour} b */
function streamBody(res, record, b) {
  const total = /** @type {number} */ (b.streamBytes);
  const chunk = Buffer.alloc(64 * 1024, "y");
  record.status = b.status ?? 200;
  record.bodyBytesWritten = 0;
  res.writeHead(record.status, { "content-type": "text/plain", "content-length": String(total) });
  const pump = () => {
    while (!res.destroyed && record.bodyBytesWritten < total) {
      const part = chunk.subarray(0, Math.min(chunk.length, total - record.bodyBytesWritten));
      record.bodyBytesWritten += part.length;
      if (!res.write(part)) return void res.once("drain", pump);
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

/** Resolve a route to the behaviour for this particular request. @param {Route} route @param {ReceivedRequest} req */
async function pick(route, req) {
  if (typeof route === "function") return route(req);
  if (Array.isArray(route)) return route[Math.min(req.index, route.length - 1)] ?? {};
  if (route.failTimes !== undefined && req.index >= route.failTimes) {
    return typeof route.then === "number" ? { status: route.then } : (route.then ?? { status: 200 });
  }
  if (route.failTimes !== undefined) return { ...route, status: route.failStatus ?? 500 };
  return route;
}
