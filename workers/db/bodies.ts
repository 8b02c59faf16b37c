/**
 * @module Large bodies live in R2 (the BODIES bucket), so D1 keeps rows small: event bodies above an inline
 * limit, and whole response bodies of which D1 keeps only an excerpt. Keys are derived from row ids, so a row
 * needs no key column and retention can delete the objects of the rows it deletes.
 */

/** Event bodies up to this size stay in D1: most webhooks are smaller, and their attempts then read no R2. */
export const INLINE_EVENT_BODY_BYTES = 1024;
/** How much of a response body D1 keeps: enough to show in lists and to recognise an error page. */
export const RESPONSE_EXCERPT_BYTES = 256;
/** R2's bulk delete takes at most 1,000 keys. */
const DELETE_KEYS_PER_CALL = 1000;

export const eventBodyKey = (eventId: string) => `events/${eventId}`;
export const responseBodyKey = (attemptId: string) => `responses/${attemptId}`;

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

/** The value of `events.body` for these bytes: the bytes themselves, or "" once they are stored in R2. */
export async function storeEventBody(env: Pick<Env, "BODIES">, eventId: string, body: string): Promise<string> {
  if (byteLength(body) <= INLINE_EVENT_BODY_BYTES) return body;
  await env.BODIES.put(eventBodyKey(eventId), body, { httpMetadata: { contentType: "application/json" } });
  return "";
}

/** The exact bytes of an event, wherever they are kept. */
export async function eventBody(env: Pick<Env, "BODIES">, event: { id: string; body: string }): Promise<string> {
  if (event.body !== "") return event.body;
  const object = await env.BODIES.get(eventBodyKey(event.id));
  if (!object) throw new Error(`the body of event ${event.id} is missing from R2 (${eventBodyKey(event.id)})`);
  return object.text();
}

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
