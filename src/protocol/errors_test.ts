import assert from "node:assert/strict";
import { codeFromWire, ERROR_CODES, type ErrorCode, ERRORS, ZtnaError } from "./errors.ts";

/** The wire numbers as shipped: a change here breaks every deployed peer. Never renumber, only add. */
const PINNED: Record<ErrorCode, number> = {
  unauthenticated: 0x101,
  unauthorized: 0x102,
  token_invalid: 0x103,
  token_expired: 0x104,
  token_revoked: 0x105,
  role_mismatch: 0x106,
  limit_exceeded: 0x107,
  path_expired: 0x108,
  protocol_error: 0x201,
  frame_too_large: 0x202,
  version_unsupported: 0x203,
  invalid_service_id: 0x204,
  hello_timeout: 0x205,
  unknown_service: 0x301,
  no_connector: 0x302,
  backend_refused: 0x303,
  backend_timeout: 0x304,
  relay_overloaded: 0x305,
  backend_unreachable: 0x306,
  flow_reset: 0x307,
  egress_denied: 0x308,
  going_away: 0x401,
  kicked: 0x402,
  replaced: 0x403,
  state_unavailable: 0x404,
  internal: 0x4ff,
};

Deno.test("ERRORS keeps every pinned wire number", () => {
  assert.deepEqual(
    Object.fromEntries(ERROR_CODES.map((code) => [code, ERRORS[code].wire])),
    PINNED,
  );
});

Deno.test("ERRORS lists exactly the codes of ERROR_CODES", () => {
  assert.deepEqual([...ERROR_CODES].sort(), Object.keys(PINNED).sort());
});

Deno.test("ERRORS wire numbers are unique and fit a u16", () => {
  const wires = ERROR_CODES.map((code) => ERRORS[code].wire);
  assert.equal(new Set(wires).size, wires.length);
  for (const wire of wires) {
    assert.ok(Number.isInteger(wire) && wire > 0 && wire <= 0xffff, `wire ${wire}`);
  }
});

Deno.test("ERRORS entries each carry a retry flag and a text", () => {
  for (const code of ERROR_CODES) {
    assert.equal(typeof ERRORS[code].retry, "boolean", code);
    assert.ok(ERRORS[code].text.length > 0, code);
  }
});

Deno.test("codeFromWire() round trips every code", () => {
  for (const code of ERROR_CODES) assert.equal(codeFromWire(ERRORS[code].wire), code);
});

Deno.test("codeFromWire() answers undefined for numbers it does not know", () => {
  for (const wire of [0, 0x100, 0x109, 0x206, 0x309, 0x405, 0x4fe, 0x500, 0xffff, -1, 1.5, NaN]) {
    assert.equal(codeFromWire(wire), undefined, `wire ${wire}`);
  }
});

Deno.test("ZtnaError carries its code, message and cause", () => {
  const cause = new Error("inner");
  const err = new ZtnaError("no_connector", "no connector for db", { cause });
  assert.ok(err instanceof Error);
  assert.equal(err.name, "ZtnaError");
  assert.equal(err.code, "no_connector");
  assert.equal(err.message, "no connector for db");
  assert.equal(err.cause, cause);
});
