/**
 * @module Large bodies live in R2 (the BODIES bucket), so D1 keeps rows small: event bodies above an inline
 * limit, and whole response bodies of which D1 keeps only an excerpt. Keys are derived from row ids, so a row
 * needs no key column and retention can delete the objects of the rows it deletes.
 */
import type { StoredResponse } from "./schema";

/** Event bodies up to this size stay in D1: most webhooks are smaller, and their attempts then read no R2. */
const INLINE_EVENT_BODY_BYTES = 1024;
/** How much of a response body D1 keeps: enough to show in lists and to recognise an error page. */
export const RESPONSE_EXCERPT_BYTES = 256;
/** R2's bulk delete takes at most 1,000 keys. */
const DELETE_KEYS_PER_CALL = 1000;

export const responseBodyKey = (attemptId: string) => `responses/${attemptId}`;

/** Whether an attempt's whole response body is in R2 (at `responseBodyKey(attempt id)`), not just its excerpt. */
export const hasBodyInR2 = (response: StoredResponse | null) => !!response && "excerpt" in response && byteLength(response.excerpt) < response.bodyBytes;

const encoder = new TextEncoder();
export const byteLength = (text: string) => encoder.encode(text).byteLength;

/** The first `RESPONSE_EXCERPT_BYTES` bytes of `text`, cut at a character boundary. */
export function excerptOf(text: string): string {
  const bytes = encoder.encode(text);
  if (bytes.byteLength <= RESPONSE_EXCERPT_BYTES) return text;
  let end = RESPONSE_EXCERPT_BYTES;
  // Step back over UTF-8 continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

/** `events.body` for a body kept in R2: which object, and where in it. A real body is JSON, so never starts so. */
const EVENT_BODY_REF = /^r2:(events\/(evt_[0-9A-Z]+))#(\d+),(\d+)$/;

/**
 * The `events.body` values for these events: small bodies as they are, the large ones packed into ONE R2
 * object (one write per ingest call, however many events) and replaced by a reference to their byte range.
 * The object is named after the first event in it; all events of one call share its id's time prefix.
 */
export async function storeEventBodies(env: Pick<Env, "BODIES">, events: readonly { id: string; body: string }[]): Promise<string[]> {
  // A UTF-16 unit is at most 3 UTF-8 bytes, so most bodies are known to be small without being encoded.
  const large = events.filter((event) => event.body.length * 3 > INLINE_EVENT_BODY_BYTES && byteLength(event.body) > INLINE_EVENT_BODY_BYTES);
  if (large.length === 0) return events.map((event) => event.body);
  const key = `events/${large[0].id}`;
  const refs = new Map<string, string>();
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const event of large) {
    const bytes = encoder.encode(event.body);
    refs.set(event.id, `r2:${key}#${offset},${bytes.byteLength}`);
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  const packed = new Uint8Array(offset);
  parts.reduce((at, part) => (packed.set(part, at), at + part.byteLength), 0);
  await env.BODIES.put(key, packed);
  return events.map((event) => refs.get(event.id) ?? event.body);
}

/** The exact bytes of an event, wherever they are kept. */
export async function eventBody(env: Pick<Env, "BODIES">, event: { id: string; body: string }): Promise<string> {
  const ref = EVENT_BODY_REF.exec(event.body);
  if (!ref) return event.body;
  const object = await env.BODIES.get(ref[1], { range: { offset: Number(ref[3]), length: Number(ref[4]) } });
  if (!object) throw new Error(`the body of event ${event.id} is missing from R2 (${ref[1]})`);
  return object.text();
}

/**
 * The R2 object holding this event's body, if any, and the id range every event sharing it lies in (one
 * ingest call's events share a millisecond, so the range is that millisecond's ids).
 */
export function eventBodyObject(body: string): { key: string; idsFrom: string; idsTo: string } | null {
  const ref = EVENT_BODY_REF.exec(body);
  if (!ref) return null;
  const timePrefix = ref[2].slice(0, "evt_".length + 10);
  return { key: ref[1], idsFrom: timePrefix, idsTo: `${timePrefix}~` };
}

/** A prefix every `events.body` stored in `key` starts with. */
export const eventBodyRefPrefix = (key: string) => `r2:${key}#`;

export async function storeResponseBody(env: Pick<Env, "BODIES">, attemptId: string, body: string): Promise<void> {
  await env.BODIES.put(responseBodyKey(attemptId), body);
}

/** The whole response body, or null when R2 does not have it (its write failed). */
export async function responseBody(env: Pick<Env, "BODIES">, attemptId: string): Promise<string | null> {
  const object = await env.BODIES.get(responseBodyKey(attemptId));
  return object ? object.text() : null;
}

export async function deleteBodies(env: Pick<Env, "BODIES">, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += DELETE_KEYS_PER_CALL) await env.BODIES.delete(keys.slice(i, i + DELETE_KEYS_PER_CALL));
}
