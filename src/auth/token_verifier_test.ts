/**
 * Tests of TokenVerifier: expiry and skew, revocation, key rotation, forged and malformed tokens,
 * and properties: verify() never throws, for arbitrary strings and bit-flipped valid tokens.
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { base64url, SignJWT } from "jose";
import {
  generateSigningKeyPair,
  importPrivateKey,
  importPublicKeys,
  type SigningKey,
  type VerificationKey,
} from "./signing_keys.ts";
import { issueToken, type TokenRequest } from "./token_issuer.ts";
import { TokenVerifier, type VerifyResult } from "./token_verifier.ts";

const NOW_MS = 1_700_000_000_000;
const REQUEST: TokenRequest = {
  subject: "ci-bot",
  role: "connector",
  services: ["db", "web"],
  ttlSeconds: 600,
};

async function keyPair(): Promise<
  { signing: SigningKey; verification: VerificationKey; publicPem: string }
> {
  const pair = await generateSigningKeyPair();
  const signing = await importPrivateKey(pair.privatePem);
  const [verification] = await importPublicKeys([{ path: "test.pub", pem: pair.publicPem }]);
  return { signing, verification, publicPem: pair.publicPem };
}

function assertFailure(result: VerifyResult, code: string): void {
  assert.equal(result.ok, false, "expected a refusal");
  if (!result.ok) assert.equal(result.code, code, result.why);
}

const enc = (value: unknown) => base64url.encode(JSON.stringify(value));

/** Signs any header and payload with Ed25519, bypassing jose's own checks, to build hostile tokens. */
async function signRaw(key: SigningKey, header: unknown, payload: unknown): Promise<string> {
  const body = payload instanceof Uint8Array ? base64url.encode(payload) : enc(payload);
  const input = `${enc(header)}.${body}`;
  const signature = await crypto.subtle.sign("Ed25519", key.key, new TextEncoder().encode(input));
  return `${input}.${base64url.encode(new Uint8Array(signature))}`;
}

Deno.test("TokenVerifier.verify() accepts a valid token and returns its identity", async () => {
  const k = await keyPair();
  const issued = await issueToken(k.signing, REQUEST, { nowMs: NOW_MS });
  const result = await new TokenVerifier([k.verification]).verify(issued.token, NOW_MS + 1_000);
  assert.deepEqual(result, {
    ok: true,
    identity: {
      subject: "ci-bot",
      role: "connector",
      services: ["db", "web"],
      tokenId: issued.tokenId,
      expiresAtMs: issued.expiresAtMs,
    },
  });
});

Deno.test("TokenVerifier.verify(): expiry is strict, 30 s of clock skew only on issue time", async (t) => {
  const k = await keyPair();
  const verifier = new TokenVerifier([k.verification]);
  const { token, expiresAtMs } = await issueToken(k.signing, REQUEST, { nowMs: NOW_MS });
  await t.step("1 ms before expiry is accepted", async () => {
    assert.equal((await verifier.verify(token, expiresAtMs - 1)).ok, true);
  });
  await t.step("at expiry, and 1 s after, is token_expired (no grace)", async () => {
    assertFailure(await verifier.verify(token, expiresAtMs), "token_expired");
    assertFailure(await verifier.verify(token, expiresAtMs + 1_000), "token_expired");
  });
  await t.step("issued 30 s in the future is accepted", async () => {
    assert.equal((await verifier.verify(token, NOW_MS - 30_000)).ok, true);
  });
  await t.step("issued more than 30 s in the future is token_invalid", async () => {
    assertFailure(await verifier.verify(token, NOW_MS - 31_000), "token_invalid");
  });
});

Deno.test("TokenVerifier revocations apply at once and can be replaced", async () => {
  const k = await keyPair();
  const { token, tokenId } = await issueToken(k.signing, REQUEST, { nowMs: NOW_MS });
  const verifier = new TokenVerifier([k.verification], { revoked: new Set([tokenId]) });
  assert.equal(verifier.isRevoked(tokenId), true);
  assertFailure(await verifier.verify(token, NOW_MS), "token_revoked");
  verifier.setRevoked(new Set());
  assert.equal(verifier.isRevoked(tokenId), false);
  assert.equal((await verifier.verify(token, NOW_MS)).ok, true);
  verifier.setRevoked(new Set(["x", tokenId]));
  assertFailure(await verifier.verify(token, NOW_MS), "token_revoked");
});

Deno.test("TokenVerifier selects the key by kid and supports rotation", async () => {
  const [oldKey, newKey] = await Promise.all([keyPair(), keyPair()]);
  const fromOld = await issueToken(oldKey.signing, REQUEST, { nowMs: NOW_MS });
  const fromNew = await issueToken(newKey.signing, REQUEST, { nowMs: NOW_MS });
  const verifier = new TokenVerifier([oldKey.verification, newKey.verification]);
  assert.deepEqual(verifier.keyIds, [oldKey.verification.kid, newKey.verification.kid]);
  assert.equal((await verifier.verify(fromOld.token, NOW_MS)).ok, true);
  assert.equal((await verifier.verify(fromNew.token, NOW_MS)).ok, true);
  verifier.setKeys([newKey.verification]);
  assertFailure(await verifier.verify(fromOld.token, NOW_MS), "token_invalid");
  assert.equal((await verifier.verify(fromNew.token, NOW_MS)).ok, true);
  assert.throws(() => verifier.setKeys([]), RangeError);
  assert.throws(() => new TokenVerifier([]), RangeError);
});

Deno.test("TokenVerifier.verify() refuses forged and malformed tokens as token_invalid", async (t) => {
  const k = await keyPair();
  const other = await keyPair();
  const verifier = new TokenVerifier([k.verification]);
  const { token } = await issueToken(k.signing, REQUEST, { nowMs: NOW_MS });
  const [h, p, s] = token.split(".");
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(p)));
  const kid = k.verification.kid;
  const ours = { alg: "EdDSA", typ: "ztna+jwt", kid };
  const signed = (header: unknown, payload: unknown) => () => signRaw(k.signing, header, payload);
  const cases: Array<[string, () => Promise<string> | string]> = [
    ["empty string", () => ""],
    ["garbage", () => "not a token"],
    ["two segments", () => `${h}.${p}`],
    ["four segments", () => `${token}.x`],
    ["100 KB", () => "a".repeat(100_000)],
    ["just over 8 KiB of valid-looking text", () => `${h}.${"A".repeat(8_192)}.${s}`],
    ["tampered payload", () => `${h}.${enc({ ...claims, svc: ["*"] })}.${s}`],
    ["tampered signature", () => `${h}.${p}.${s.slice(0, -2)}${s.endsWith("AA") ? "BA" : "AA"}`],
    ["alg none", () => `${enc({ ...ours, alg: "none" })}.${p}.`],
    ["alg none with a signature", () => `${enc({ ...ours, alg: "none" })}.${p}.${s}`],
    ["header alg swapped to ES256", () => `${enc({ ...ours, alg: "ES256" })}.${p}.${s}`],
    ["HS256 keyed with the public key", async () => {
      const secret = new TextEncoder().encode(k.publicPem);
      return await new SignJWT(claims).setProtectedHeader({ ...ours, alg: "HS256" }).sign(secret);
    }],
    ["signed by another key under our kid", async () => {
      const forged = (await issueToken(other.signing, REQUEST, { nowMs: NOW_MS })).token.split(".");
      return `${h}.${forged[1]}.${forged[2]}`;
    }],
    ["signed by an unknown key", async () => (await issueToken(other.signing, REQUEST)).token],
    ["no kid", signed({ alg: "EdDSA", typ: "ztna+jwt" }, claims)],
    ["no typ", signed({ alg: "EdDSA", kid }, claims)],
    ["other typ", signed({ ...ours, typ: "JWT" }, claims)],
    ["crit header", signed({ ...ours, crit: ["x"], x: 1 }, claims)],
    ["jku header", signed({ ...ours, jku: "https://example.com/keys" }, claims)],
    ["header not an object", signed(["EdDSA"], claims)],
    ["validly signed but wrong issuer", signed(ours, { ...claims, iss: "other" })],
    ["validly signed but extra claim", signed(ours, { ...claims, admin: true })],
    ["validly signed but no services", signed(ours, { ...claims, svc: [] })],
    ["validly signed but payload not JSON", signed(ours, new TextEncoder().encode("not json"))],
    ["validly signed but payload not UTF-8", signed(ours, new Uint8Array([0x22, 0xff, 0x22]))],
    ["validly signed but payload JSON null", signed(ours, null)],
  ];
  for (const [name, make] of cases) {
    await t.step(name, async () => {
      assertFailure(await verifier.verify(await make(), NOW_MS), "token_invalid");
    });
  }
  await t.step("non-string input from untyped callers", async () => {
    for (const value of [undefined, null, 42, {}, ["a"]]) {
      // @ts-expect-error: deliberately wrong type, as from a JSON body
      assertFailure(await verifier.verify(value, NOW_MS), "token_invalid");
    }
  });
});

function assertTyped(result: VerifyResult): void {
  if (result.ok) {
    assert.equal(typeof result.identity.subject, "string");
  } else {
    assert.ok(["token_invalid", "token_expired", "token_revoked"].includes(result.code));
    assert.equal(typeof result.why, "string");
  }
}

Deno.test("TokenVerifier.verify() refuses a validly signed token over 8 KiB before parsing it", async () => {
  const k = await keyPair();
  const verifier = new TokenVerifier([k.verification]);
  const { token } = await issueToken(k.signing, REQUEST, { nowMs: NOW_MS });
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(token.split(".")[1])));
  // Claims the schema accepts (256 services of 50 characters), signed by a trusted key: only the
  // length check, made before any decoding, refuses it.
  const svc = Array.from(
    { length: 256 },
    (_, i) => `svc-${String(i).padStart(3, "0")}-${"x".repeat(42)}`,
  );
  const long = await signRaw(
    k.signing,
    { alg: "EdDSA", typ: "ztna+jwt", kid: k.verification.kid },
    { ...claims, svc },
  );
  assert.ok(long.length > 8_192, `token of ${long.length} characters`);
  const result = await verifier.verify(long, NOW_MS);
  assertFailure(result, "token_invalid");
  if (!result.ok) assert.match(result.why, /longer than 8192/);
});

Deno.test("TokenVerifier.verify() answers arbitrary strings without throwing", async () => {
  const k = await keyPair();
  const verifier = new TokenVerifier([k.verification]);
  const { token } = await issueToken(k.signing, REQUEST, { nowMs: NOW_MS });
  const [h] = token.split(".");
  const base64urlChar = fc.constantFrom(
    ..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.",
  );
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.string({ maxLength: 2_000 }),
        fc.string({ unit: "binary", maxLength: 500 }),
        fc.string({ unit: base64urlChar, maxLength: 600 }),
        fc.string({ unit: base64urlChar, maxLength: 600 }).map((rest) => `${h}.${rest}`),
        fc.json().map((json) => `${h}.${base64url.encode(json)}.AAAA`),
        fc.json().map((json) => `${base64url.encode(json)}.${base64url.encode(json)}.AAAA`),
      ),
      async (input) => {
        const result = await verifier.verify(input, NOW_MS);
        assertTyped(result);
        assert.equal(result.ok, false);
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("TokenVerifier.verify() refuses every bit-flipped valid token without throwing", async () => {
  const k = await keyPair();
  const verifier = new TokenVerifier([k.verification]);
  const { token } = await issueToken(k.signing, REQUEST, { nowMs: NOW_MS });
  const bytes = new TextEncoder().encode(token);
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: bytes.length - 1 }),
      fc.integer({ min: 0, max: 7 }),
      async (index, bit) => {
        const flipped = bytes.slice();
        flipped[index] ^= 1 << bit;
        const input = new TextDecoder().decode(flipped);
        const result = await verifier.verify(input, NOW_MS);
        assertTyped(result);
        if (result.ok) {
          // Base64url's last character carries spare bits: a flip there may decode to the same bytes.
          assert.equal(index, bytes.length - 1, `flip at ${index} bit ${bit} was accepted`);
        } else {
          assert.equal(result.code, "token_invalid");
        }
      },
    ),
    { numRuns: 1_000 },
  );
});

Deno.test("signRaw() builds tokens the verifier accepts when the header is ours", async () => {
  const k = await keyPair();
  const { token } = await issueToken(k.signing, REQUEST, { nowMs: NOW_MS });
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(token.split(".")[1])));
  const raw = await signRaw(
    k.signing,
    { alg: "EdDSA", typ: "ztna+jwt", kid: k.verification.kid },
    claims,
  );
  assert.equal((await new TokenVerifier([k.verification]).verify(raw, NOW_MS)).ok, true);
});
