// A local stand-in for the MailChannels Email API (POST /tx/v1/send) that records what Ferry would have mailed.
import crypto from "node:crypto";
import http from "node:http";
import { waitList } from "./waiters.mjs";

const SEND_PATH = "/tx/v1/send";
const CONTENT_TYPES = new Set(["text/plain", "text/html"]);
const DKIM_FIELDS = ["dkim_domain", "dkim_selector", "dkim_private_key"];

/**
 * @typedef {object} AcceptedEmail
 * @property {Record<string, string|string[]>} headers  request headers, lower-case names (`x-api-key` included)
 * @property {any} body  the parsed JSON body as sent
 * @property {string[]} to  every `personalizations[].to[].email`
 * @property {string} subject
 * @property {string|undefined} text  the `text/plain` content value
 * @property {string|undefined} html  the `text/html` content value
 * @property {number} receivedAt  `Date.now()` on arrival
 */

/**
 * Start the mock on a free port of 127.0.0.1. Pass `mail.url` as the worker's `MAILCHANNELS_API_URL` and
 * `mail.apiKey` as `MAILCHANNELS_API_KEY`. Like the real API it answers 401 on a missing or wrong `X-Api-Key`,
 * 400 with `{errors: [...]}` on an invalid body, and 202 when it accepts a message.
 * @param {{apiKey?: string}} [opts]
 * @returns {Promise<MailChannelsMock>}
 * @example
 * const mail = await startMailChannels();
 * const stack = await startStack({ vars: { MAILCHANNELS_API_URL: mail.url, MAILCHANNELS_API_KEY: mail.apiKey } });
 * const [alert] = await mail.waitForEmails(1, 20_000);
 */
export async function startMailChannels({ apiKey = "e2e-mailchannels-key" } = {}) {
  const mock = new MailChannelsMock(apiKey);
  await mock.listen();
  return mock;
}

export class MailChannelsMock {
  /** @type {AcceptedEmail[]} */ #emails = [];
  #waiters = waitList();
  #fail = { count: 0, status: 500, hang: false };
  #server = http.createServer((req, res) => this.#handle(req, res));
  /** full send URL, `http://127.0.0.1:<port>/tx/v1/send` */
  url = "";
  /** how many requests arrived, accepted or not */
  requestCount = 0;

  /** @param {string} apiKey */
  constructor(apiKey) {
    this.apiKey = apiKey;
  }

  /** @internal */
  listen() {
    return new Promise((resolve) => {
      this.#server.listen(0, "127.0.0.1", () => {
        const { port } = /** @type {import("node:net").AddressInfo} */ (this.#server.address());
        this.url = `http://127.0.0.1:${port}${SEND_PATH}`;
        resolve(undefined);
      });
    });
  }

  /** @returns {AcceptedEmail[]} accepted messages, oldest first */
  emails() {
    return [...this.#emails];
  }

  /** @param {number} [n] @param {number} [timeoutMs] @returns {Promise<AcceptedEmail[]>} once at least n were accepted */
  waitForEmails(n = 1, timeoutMs = 10_000) {
    return this.#waiters.until(
      () => (this.#emails.length >= n ? this.emails() : undefined),
      timeoutMs,
      () => `mailchannels: ${this.#emails.length}/${n} emails after ${timeoutMs} ms (${this.requestCount} requests)`,
    );
  }

  /** Make the next `n` requests fail with `status` (an outage), before any auth or validation. */
  failNext(n, status = 500) {
    this.#fail = { count: n, status, hang: false };
  }

  /** Make the next `n` requests never get an answer (the caller's timeout must fire). */
  hangNext(n) {
    this.#fail = { count: n, status: 0, hang: true };
  }

  /** Stop listening and cut open (hanging) connections. @returns {Promise<void>} */
  close() {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  /** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
  async #handle(req, res) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    this.requestCount++;
    const reply = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (this.#fail.count > 0) {
      this.#fail.count--;
      if (this.#fail.hang) return;
      return reply(this.#fail.status, { errors: ["injected failure"] });
    }
    const path = new URL(req.url ?? "/", "http://mock").pathname;
    if (path !== SEND_PATH) return reply(404, { errors: ["not found"] });
    if (req.method !== "POST") return reply(405, { errors: ["method not allowed"] });
    if (req.headers["x-api-key"] !== this.apiKey) return reply(401, { errors: ["Unauthorized"] });
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return reply(400, { errors: ["request body is not valid JSON"] });
    }
    const errors = validate(body);
    if (errors.length) return reply(400, { errors });

    const content = /** @type {{type: string, value: string}[]} */ (body.content);
    this.#emails.push({
      headers: /** @type {Record<string, string|string[]>} */ ({ ...req.headers }),
      body,
      to: body.personalizations.flatMap((p) => p.to.map((r) => r.email)),
      subject: body.subject ?? body.personalizations[0].subject,
      text: content.find((c) => c.type === "text/plain")?.value,
      html: content.find((c) => c.type === "text/html")?.value,
      receivedAt: Date.now(),
    });
    this.#waiters.notify();
    const results = body.personalizations.map((_, index) => ({ index, message_id: crypto.randomUUID(), status: "queued" }));
    reply(202, { request_id: crypto.randomUUID(), results });
  }
}

/** The checks the real API makes on required fields. @param {any} b @returns {string[]} */
function validate(b) {
  if (!isObject(b)) return ["body must be a JSON object"];
  const errors = [];
  const ps = b.personalizations;
  if (!Array.isArray(ps) || ps.length === 0) errors.push("personalizations: at least one is required");
  else {
    ps.forEach((p, i) => {
      if (!isObject(p)) return errors.push(`personalizations[${i}]: must be an object`);
      if (!Array.isArray(p.to) || p.to.length === 0) errors.push(`personalizations[${i}].to: at least one recipient is required`);
      else p.to.forEach((r, j) => isAddress(r) || errors.push(`personalizations[${i}].to[${j}]: invalid address`));
      errors.push(...dkimErrors(p, `personalizations[${i}]`));
    });
  }
  if (!isAddress(b.from)) errors.push("from: a sender {email, name?} is required");
  const subjects = Array.isArray(ps) && ps.length > 0 && ps.every((p) => typeof p?.subject === "string" && p.subject);
  if (!(typeof b.subject === "string" && b.subject) && !subjects) errors.push("subject: required");
  if (!Array.isArray(b.content) || b.content.length === 0) errors.push("content: at least one entry is required");
  else {
    b.content.forEach((c, i) => {
      if (!isObject(c) || !CONTENT_TYPES.has(c.type)) errors.push(`content[${i}].type: must be text/plain or text/html`);
      else if (typeof c.value !== "string" || c.value === "") errors.push(`content[${i}].value: required`);
    });
  }
  errors.push(...dkimErrors(b, "body"));
  return errors;
}

/** DKIM settings come as a set: all three fields or none. @param {any} o @param {string} where */
function dkimErrors(o, where) {
  const given = DKIM_FIELDS.filter((f) => o[f] !== undefined);
  if (given.length === 0 || given.length === DKIM_FIELDS.length) return [];
  return [`${where}: dkim_domain, dkim_selector and dkim_private_key must be given together`];
}

/** @param {unknown} v @returns {v is Record<string, any>} */
function isObject(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** @param {any} a */
function isAddress(a) {
  return isObject(a) && typeof a.email === "string" && /^[^@\s]+@[^@\s]+$/.test(a.email) &&
    (a.name === undefined || typeof a.name === "string");
}
