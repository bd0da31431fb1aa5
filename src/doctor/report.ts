/**
 * What `ztna doctor` found, as one zod schema: the facts per relay (name resolution, QUIC, TCP/TLS,
 * certificate), the token, the NAT's mapping, the direct path to a service, the proxy, and the
 * verdict. `--json` prints exactly this shape (version 1); scripts and tests parse it with it.
 * Pure: no I/O.
 * @module
 */
import { z } from "zod";

/** Why a relay could not be used over one transport (DialError kinds, plus proxy failures). */
export const FailureKind = z.enum([
  "unreachable",
  "untrusted_certificate",
  "refused",
  "protocol",
  "proxy_unreachable",
  "proxy_auth_required",
  "proxy_refused",
  "proxy_timeout",
  "proxy_protocol",
]);
export type FailureKind = z.output<typeof FailureKind>;

const Address = z.strictObject({ hostname: z.string(), port: z.number().int() });

/** QUIC: a real handshake and HELLO with the token. */
export const QuicFacts = z.discriminatedUnion("ok", [
  z.strictObject({
    ok: z.literal(true),
    /** QUIC handshake (one round trip plus TLS) in milliseconds. */
    handshakeMs: z.number(),
    /** HELLO → WELCOME in milliseconds: one round trip through the relay's authentication. */
    helloMs: z.number(),
    identity: z.string(),
    services: z.array(z.string()),
    /** Where the relay saw this probe (QAD). */
    observed: Address,
    /** The relay's idea of the token's expiry (ms since the epoch). */
    tokenExpiresAt: z.number(),
  }),
  z.strictObject({
    ok: z.literal(false),
    kind: FailureKind,
    /** The relay's refusal code (kind "refused"). */
    code: z.string().optional(),
    detail: z.string(),
  }),
]);
export type QuicFacts = z.output<typeof QuicFacts>;

/** The relay's certificate as the TLS client saw it (TLS over TCP only: QUIC does not show it). */
export const CertificateFacts = z.strictObject({
  subject: z.string(),
  issuer: z.string(),
  validTo: z.string(),
  /** Subject of each certificate up the chain, leaf first. */
  chain: z.array(z.string()),
});
export type CertificateFacts = z.output<typeof CertificateFacts>;

/** TCP/TLS: a TCP connect (through the proxy when one applies) and a TLS handshake. */
export const TcpFacts = z.discriminatedUnion("state", [
  z.strictObject({
    state: z.literal("ok"),
    handshakeMs: z.number(),
    /** HELLO over the TCP transport answered (absent: only TLS was checked). */
    hello: z.boolean(),
    certificate: CertificateFacts.optional(),
  }),
  /** Nothing accepts TCP on the relay's port, or it does not speak the TCP transport. */
  z.strictObject({ state: z.literal("not_offered"), detail: z.string() }),
  z.strictObject({
    state: z.literal("failed"),
    kind: FailureKind,
    code: z.string().optional(),
    detail: z.string(),
  }),
]);
export type TcpFacts = z.output<typeof TcpFacts>;

/** Everything found about one configured relay. */
export const RelayFacts = z.strictObject({
  address: z.string(),
  serverName: z.string(),
  dns: z.discriminatedUnion("ok", [
    z.strictObject({ ok: z.literal(true), addresses: z.array(z.string()) }),
    z.strictObject({ ok: z.literal(false), detail: z.string() }),
  ]),
  /** Absent when QUIC was not tried (a proxy leads to the relay: UDP does not pass it). */
  quic: QuicFacts.optional(),
  tcp: TcpFacts,
  /** The proxy this relay is reached through, `http://host:port`. */
  proxy: z.string().optional(),
});
export type RelayFacts = z.output<typeof RelayFacts>;

/** The token as it reads locally (claims, signature unchecked) and what the relays said of it. */
export const TokenFacts = z.discriminatedUnion("readable", [
  z.strictObject({
    readable: z.literal(true),
    id: z.string(),
    subject: z.string(),
    role: z.string(),
    services: z.array(z.string()),
    expiresAt: z.string(),
    expired: z.boolean(),
  }),
  z.strictObject({ readable: z.literal(false) }),
]);
export type TokenFacts = z.output<typeof TokenFacts>;

/** The NAT's mapping behaviour, from where two relay addresses saw one local UDP socket. */
export const NatFacts = z.strictObject({
  mapping: z.enum(["none", "endpoint-independent", "endpoint-dependent", "unknown"]),
  why: z.string(),
  observations: z.array(z.strictObject({ relay: z.string(), observed: Address })),
});
export type NatFacts = z.output<typeof NatFacts>;

/** Whether a direct (P2P) path to `--service` is possible, from the relay's broker. */
export const DirectFacts = z.strictObject({
  service: z.string(),
  possible: z.boolean().nullable(),
  code: z.string().optional(),
  why: z.string(),
});
export type DirectFacts = z.output<typeof DirectFacts>;

/** The one-line answer: can this peer connect, and what to do. */
export const Verdict = z.strictObject({
  /** A usable path to a relay exists (exit status 0). */
  ok: z.boolean(),
  /** Short machine-readable name of the case, e.g. `udp_blocked`, `token_expired`. */
  code: z.string(),
  line: z.string(),
});
export type Verdict = z.output<typeof Verdict>;

/** The facts before the verdict. */
export const DoctorFacts = z.strictObject({
  role: z.enum(["client", "connector"]),
  config: z.string(),
  proxy: z.strictObject({ url: z.string(), noProxy: z.array(z.string()) }).nullable(),
  token: TokenFacts,
  relays: z.array(RelayFacts),
  nat: NatFacts,
  direct: DirectFacts.nullable(),
});
export type DoctorFacts = z.output<typeof DoctorFacts>;

/** What `ztna doctor --json` prints. */
export const DoctorReport = DoctorFacts.extend({
  version: z.literal(1),
  checkedAt: z.string(),
  verdict: Verdict,
});
export type DoctorReport = z.output<typeof DoctorReport>;
