import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { activeSecrets } from "../../../workers/db/endpoints";
import { generateSecret, isValidSecret, sign } from "../../../workers/signing/standard-webhooks";

/** The test vector published with the Standard Webhooks spec (and used by the svix libraries). */
const VECTOR = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

describe("sign", () => {
  it("matches the Standard Webhooks test vector", async () => {
    expect(await sign([VECTOR.secret], VECTOR.id, VECTOR.timestamp, VECTOR.payload)).toBe(VECTOR.signature);
  });

  it("signs once per secret, space separated, in the order given", async () => {
    const other = generateSecret();
    const both = await sign([other, VECTOR.secret], VECTOR.id, VECTOR.timestamp, VECTOR.payload);
    const entries = both.split(" ");
    expect(entries).toHaveLength(2);
    expect(entries[0]).toBe(await sign([other], VECTOR.id, VECTOR.timestamp, VECTOR.payload));
    expect(entries[1]).toBe(VECTOR.signature);
  });

  it("changes with any of id, timestamp or body", async () => {
    const base = await sign([VECTOR.secret], VECTOR.id, VECTOR.timestamp, VECTOR.payload);
    expect(await sign([VECTOR.secret], "msg_other", VECTOR.timestamp, VECTOR.payload)).not.toBe(base);
    expect(await sign([VECTOR.secret], VECTOR.id, VECTOR.timestamp + 1, VECTOR.payload)).not.toBe(base);
    expect(await sign([VECTOR.secret], VECTOR.id, VECTOR.timestamp, '{"test":2432232314}')).not.toBe(base);
  });

  it("is verified by the standardwebhooks library", async () => {
    const secret = generateSecret();
    const body = JSON.stringify({ type: "a.b", timestamp: new Date().toISOString(), data: { ünï: "cödé ✓" } });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = { "webhook-id": "evt_1", "webhook-timestamp": String(timestamp), "webhook-signature": await sign([generateSecret(), secret], "evt_1", timestamp, body) };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
  });
});

describe("secrets", () => {
  it("generates whsec_ secrets of 32 random bytes that validate", () => {
    const a = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(isValidSecret(a)).toBe(true);
    expect(generateSecret()).not.toBe(a);
  });

  it.each([
    ["the spec's 24-byte secret", VECTOR.secret, true],
    ["no prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false],
    ["too short", "whsec_c2hvcnQ=", false],
    ["not base64", "whsec_!!!!not-base64!!!!not-base64!!!!", false],
    ["empty", "whsec_", false],
  ])("isValidSecret: %s", (_, secret, valid) => {
    expect(isValidSecret(secret)).toBe(valid);
  });

  it("only unexpired secrets sign", () => {
    const now = 1_000_000;
    const secrets = [
      { value: "new", createdAt: now, expiresAt: null },
      { value: "grace", createdAt: now - 10, expiresAt: now + 1 },
      { value: "expired", createdAt: now - 20, expiresAt: now },
    ];
    expect(activeSecrets(secrets, now).map((secret) => secret.value)).toEqual(["new", "grace"]);
  });
});
