/**
 * @module Prefixed, time-sortable ids (`evt_01J…`): readable in logs, and ordered by creation,
 * so lists page newest-first by id alone. The body is a ULID: 48-bit ms time + 80 random bits, Crockford base32.
 */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export const ID_PREFIXES = {
  project: "prj",
  apiKey: "key",
  application: "app",
  endpoint: "ep",
  event: "evt",
  delivery: "dlv",
  attempt: "att",
  alert: "alr",
  /** A bulk job; also the id of a Svix background task (an endpoint recovery). */
  job: "job",
} as const;

function encodeTime(time: number): string {
  let encoded = "";
  for (let i = 0, t = time; i < 10; i++, t = Math.floor(t / 32)) encoded = ALPHABET[t % 32] + encoded;
  return encoded;
}

export function newId(kind: keyof typeof ID_PREFIXES, now = Date.now()): string {
  const random = crypto.getRandomValues(new Uint8Array(16));
  let tail = "";
  for (const byte of random) tail += ALPHABET[byte % 32];
  return `${ID_PREFIXES[kind]}_${encodeTime(now)}${tail}`;
}

/** The smallest id of `kind` created at or after `time`: turns a time filter into an id range. */
export function idFloor(kind: keyof typeof ID_PREFIXES, time: number): string {
  return `${ID_PREFIXES[kind]}_${encodeTime(time)}`;
}
