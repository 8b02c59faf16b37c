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

/** Random bytes are drawn a few kilobytes at a time: one `getRandomValues` call per id showed in batch ingest's profile. */
const RANDOM_POOL_BYTES = 4096;
const RANDOM_CHARS = 16;
let randomPool = new Uint8Array(0);
let randomOffset = 0;

function randomTail(): string {
  if (randomOffset + RANDOM_CHARS > randomPool.length) {
    randomPool = crypto.getRandomValues(new Uint8Array(RANDOM_POOL_BYTES));
    randomOffset = 0;
  }
  let tail = "";
  for (let i = 0; i < RANDOM_CHARS; i++) tail += ALPHABET[randomPool[randomOffset++] % 32];
  return tail;
}

/** A batch's ids share their millisecond, so the last one's time part is reused. */
let lastTime = Number.NaN;
let lastEncodedTime = "";

function encodeTime(time: number): string {
  if (time === lastTime) return lastEncodedTime;
  let encoded = "";
  for (let i = 0, t = time; i < 10; i++, t = Math.floor(t / 32)) encoded = ALPHABET[t % 32] + encoded;
  lastTime = time;
  lastEncodedTime = encoded;
  return encoded;
}

export function newId(kind: keyof typeof ID_PREFIXES, now = Date.now()): string {
  return `${ID_PREFIXES[kind]}_${encodeTime(now)}${randomTail()}`;
}

/** The smallest id of `kind` created at or after `time`: turns a time filter into an id range. */
export function idFloor(kind: keyof typeof ID_PREFIXES, time: number): string {
  return `${ID_PREFIXES[kind]}_${encodeTime(time)}`;
}
