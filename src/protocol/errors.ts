/**
 * The one table of error codes that cross a boundary (QUIC close codes, flow replies, NACKs, exit paths).
 * Pure: no I/O. Wire values are pinned by errors_test.ts; never renumber, only add.
 * @module
 */

/** Every code ztna puts on the wire, with its number and whether a peer should retry. */
export const ERRORS = {
  // 0x1xx: who you are and what you may do
  unauthenticated: { wire: 0x101, retry: false, text: "no valid HELLO before other traffic" },
  unauthorized: { wire: 0x102, retry: false, text: "identity has no grant for this service" },
  token_invalid: { wire: 0x103, retry: false, text: "token malformed or signature not valid" },
  token_expired: { wire: 0x104, retry: false, text: "token expired" },
  token_revoked: { wire: 0x105, retry: false, text: "token revoked" },
  role_mismatch: { wire: 0x106, retry: false, text: "token role does not match the HELLO role" },
  limit_exceeded: { wire: 0x107, retry: true, text: "a configured limit was reached" },
  path_expired: {
    wire: 0x108,
    retry: true,
    text: "direct path reached its maximum lifetime without a fresh ticket",
  },
  // 0x2xx: malformed or unsupported protocol
  protocol_error: { wire: 0x201, retry: false, text: "malformed message" },
  frame_too_large: { wire: 0x202, retry: false, text: "message larger than allowed" },
  version_unsupported: { wire: 0x203, retry: false, text: "no common protocol version" },
  invalid_service_id: { wire: 0x204, retry: false, text: "service id does not match the rules" },
  hello_timeout: { wire: 0x205, retry: true, text: "HELLO not received in time" },
  // 0x3xx: the path to a service
  unknown_service: { wire: 0x301, retry: false, text: "no such service" },
  no_connector: { wire: 0x302, retry: true, text: "no connector online for the service" },
  backend_refused: { wire: 0x303, retry: true, text: "backend refused the connection" },
  backend_timeout: { wire: 0x304, retry: true, text: "backend did not answer in time" },
  relay_overloaded: { wire: 0x305, retry: true, text: "relay at capacity" },
  backend_unreachable: { wire: 0x306, retry: true, text: "backend unreachable" },
  flow_reset: { wire: 0x307, retry: false, text: "the other side aborted the flow" },
  egress_denied: {
    wire: 0x308,
    retry: false,
    text: "the connector's sandbox refused the destination",
  },
  // 0x4xx: lifecycle
  going_away: { wire: 0x401, retry: true, text: "peer is shutting down" },
  kicked: { wire: 0x402, retry: true, text: "connection closed by an operator" },
  replaced: { wire: 0x403, retry: true, text: "superseded by a newer connection" },
  state_unavailable: {
    wire: 0x404,
    retry: true,
    text: "relay cannot confirm revocations: its state store is unreachable",
  },
  internal: { wire: 0x4ff, retry: true, text: "internal error" },
} as const satisfies Record<string, { wire: number; retry: boolean; text: string }>;

/** A code from {@link ERRORS}. */
export type ErrorCode = keyof typeof ERRORS;

/** All codes, for zod enums and tests. */
export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

const BY_WIRE = new Map<number, ErrorCode>(
  ERROR_CODES.map((code) => [ERRORS[code].wire, code]),
);

/** Maps a wire number back to its code; numbers from a newer peer become `undefined`. */
export function codeFromWire(wire: number): ErrorCode | undefined {
  return BY_WIRE.get(wire);
}

/** The error class used at every boundary: branch on `code`, never on the message. */
export class ZtnaError extends Error {
  override readonly name = "ZtnaError";
  constructor(readonly code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
