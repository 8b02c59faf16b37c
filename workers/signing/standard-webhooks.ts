/**
 * @module Standard Webhooks signing: `v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>` per active secret.
 * Secrets look like `whsec_<base64 of 24–64 random bytes>`; the bytes after the prefix are the HMAC key.
 */
const SECRET_PREFIX = "whsec_";
const encoder = new TextEncoder();

/** Imported keys are reused across sends: importing costs more than signing. */
const keyCache = new Map<string, Promise<CryptoKey>>();
const KEY_CACHE_LIMIT = 1000;

export function generateSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

/** True for `whsec_` followed by base64 of 24–64 bytes. */
export function isValidSecret(secret: string): boolean {
  if (!secret.startsWith(SECRET_PREFIX)) return false;
  try {
    const length = fromBase64(secret.slice(SECRET_PREFIX.length)).length;
    return length >= 24 && length <= 64;
  } catch {
    return false;
  }
}

export async function sign(secrets: readonly string[], id: string, timestamp: number, body: string): Promise<string> {
  const content = encoder.encode(`${id}.${timestamp}.${body}`);
  const signatures = await Promise.all(
    secrets.map(async (secret) => `v1,${toBase64(new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), content)))}`),
  );
  return signatures.join(" ");
}

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
    const raw = fromBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keyCache.set(secret, key);
  }
  return key;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(value: string): Uint8Array {
  return Uint8Array.from(atob(value), (ch) => ch.charCodeAt(0));
}
