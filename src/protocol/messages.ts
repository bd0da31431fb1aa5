/**
 * Control-stream messages of ztna-v2 (zod schemas, the single source of their types) and their codec.
 * Pure: no I/O. Semantics: docs/PROTOCOL.md, "Control messages".
 * @module
 */
import { z } from "zod";
import { ServiceId, TransportProtocol } from "./service_id.ts";
import { ERROR_CODES, type ErrorCode } from "./errors.ts";

/** An error code as received: codes unknown to this build survive as "unknown" (newer peers). */
export const WireErrorCode = z.string().max(64).transform((s): ErrorCode | "unknown" =>
  (ERROR_CODES as string[]).includes(s) ? s as ErrorCode : "unknown"
);

const PeerRole = z.enum(["client", "connector"]);

/** First message on the control stream, from the dialing peer. */
export const Hello = z.strictObject({
  type: z.literal("hello"),
  versions: z.array(z.number().int().min(1).max(65_535)).min(1).max(16),
  role: PeerRole,
  token: z.string().max(8_192),
  software: z.string().max(64).optional(),
  /**
   * A client that logged in at the relay's identity provider sends its OpenID Connect ID token
   * here, with an empty `token`; the relay answers with a ztna token in WELCOME's `issuedToken`.
   */
  id_token: z.string().min(1).max(16_384).optional(),
});

/** The relay's answer to a valid HELLO: who you are, what you may use, where you come from (QAD). */
export const Welcome = z.strictObject({
  type: z.literal("welcome"),
  version: z.number().int(),
  connId: z.string().max(64),
  identity: z.string().max(128),
  role: PeerRole,
  services: z.array(z.union([ServiceId, z.literal("*")])).max(256),
  observed: z.strictObject({
    hostname: z.string().max(64),
    port: z.number().int().min(0).max(65_535),
  }),
  limits: z.strictObject({
    maxStreams: z.number().int().min(1),
    maxMessageBytes: z.number().int().min(1),
  }),
  tokenExpiresAt: z.number().int(),
  /** SPKI PEM of the relay's key for direct-path tickets (connectors only). */
  ticketKey: z.string().max(1_024).optional(),
  /** The ztna token the relay issued for a HELLO with `id_token` (a secret: never logged). */
  issuedToken: z.string().max(8_192).optional(),
});

/**
 * Client → relay: a fresh ID token (from the provider's refresh grant) for the person of this
 * session; the relay answers `login_refreshed` or `login_refused` and keeps the connection.
 */
export const LoginRefresh = z.strictObject({
  type: z.literal("login_refresh"),
  id_token: z.string().min(1).max(16_384),
});

/** Relay → client: the session now runs on this new token (groups as the provider said now). */
export const LoginRefreshed = z.strictObject({
  type: z.literal("login_refreshed"),
  token: z.string().max(8_192),
  tokenExpiresAt: z.number().int(),
});

/** Relay → client: the refresh was refused; the session ends at its token's expiry. */
export const LoginRefused = z.strictObject({
  type: z.literal("login_refused"),
  code: WireErrorCode,
});

/** Sent by the relay just before it closes a connection it will not serve. */
export const Refused = z.strictObject({
  type: z.literal("refused"),
  code: WireErrorCode,
});

/** A connector asks to serve one service. */
export const Register = z.strictObject({
  type: z.literal("register"),
  service: ServiceId,
  /** Transports offered for the service; absent means TCP only. */
  protocols: z.array(TransportProtocol).min(1).max(2).optional(),
  /** The connector accepts direct (P2P) connections for this service. */
  direct: z.boolean().optional(),
});

/** Registration accepted. */
export const Ack = z.strictObject({ type: z.literal("ack"), service: ServiceId });

/**
 * A connector stops serving one service on this connection (a reload removed or re-pointed it):
 * the relay takes it out of the service's pools; flows already open go on. Version 4 and later.
 */
export const Unregister = z.strictObject({ type: z.literal("unregister"), service: ServiceId });

/** The relay opens no more flows of `service` on this connection. */
export const Unregistered = z.strictObject({
  type: z.literal("unregistered"),
  service: ServiceId,
});

/** Registration refused, with the reason code. */
export const Nack = z.strictObject({
  type: z.literal("nack"),
  service: z.string().max(256),
  code: WireErrorCode,
});

/** Every control message. */
/** An address a peer may be reachable at: its own, or the one the relay observed (QAD). */
export const Candidate = z.strictObject({
  hostname: z.string().min(1).max(64),
  port: z.number().int().min(1).max(65_535),
});
export type Candidate = z.output<typeof Candidate>;

/** Candidates one message may carry. */
export const MAX_CANDIDATES = 8;
const Candidates = z.array(Candidate).min(1).max(MAX_CANDIDATES);
const SessionId = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/);

/** Client → relay: broker a direct path to a connector of `service`. */
export const DirectRequest = z.strictObject({
  type: z.literal("direct_request"),
  requestId: z.number().int().min(0).max(2 ** 31),
  service: ServiceId,
  candidates: Candidates,
});

/** Relay → connector: a client wants a direct path; its candidates. */
export const DirectOffer = z.strictObject({
  type: z.literal("direct_offer"),
  sessionId: SessionId,
  service: ServiceId,
  identity: z.string().max(128),
  candidates: Candidates,
});

/** Connector → relay: accepted; where to dial and the certificate to trust for it. */
export const DirectAccept = z.strictObject({
  type: z.literal("direct_accept"),
  sessionId: SessionId,
  candidates: Candidates,
  cert: z.string().max(8_192),
  serverName: z.string().max(253),
});

/** Relay → client: dial these candidates, trust this certificate, present this ticket. */
export const DirectReady = z.strictObject({
  type: z.literal("direct_ready"),
  requestId: z.number().int().min(0).max(2 ** 31),
  candidates: Candidates,
  cert: z.string().max(8_192),
  serverName: z.string().max(253),
  ticket: z.string().max(4_096),
  /** Names the brokered path when the client later asks for a fresh ticket (`direct_renew`). */
  sessionId: SessionId,
});

/**
 * Client → relay: a fresh ticket for a direct path it holds (named by the `sessionId` of its
 * `direct_ready`), before the path reaches its end. Authorized like a new request.
 */
export const DirectRenew = z.strictObject({
  type: z.literal("direct_renew"),
  requestId: z.number().int().min(0).max(2 ** 31),
  sessionId: SessionId,
});

/** Relay → client: the fresh ticket, to present to the connector in `direct_refresh`. */
export const DirectRenewed = z.strictObject({
  type: z.literal("direct_renewed"),
  requestId: z.number().int().min(0).max(2 ** 31),
  ticket: z.string().max(4_096),
});

/** Relay → client, or connector → relay: no direct path this time, and why. */
export const DirectRefused = z.strictObject({
  type: z.literal("direct_refused"),
  requestId: z.number().int().min(0).max(2 ** 31).optional(),
  sessionId: SessionId.optional(),
  code: WireErrorCode,
});

/** Client → connector, first message on a direct connection: the relay's ticket. */
export const DirectHello = z.strictObject({
  type: z.literal("direct_hello"),
  versions: z.array(z.number().int().min(1).max(65_535)).min(1).max(16),
  ticket: z.string().max(4_096),
});

/**
 * Connector → client: the ticket is good; flows may start. `expiresAt` (ms since the epoch, on the
 * connector's clock) is when the connector closes the path unless a fresh ticket arrives first.
 */
export const DirectWelcome = z.strictObject({
  type: z.literal("direct_welcome"),
  service: ServiceId,
  expiresAt: z.number().int().min(0),
});

/** Client → connector, on a direct path's control stream: a fresh ticket for the same path. */
export const DirectRefresh = z.strictObject({
  type: z.literal("direct_refresh"),
  ticket: z.string().max(4_096),
});

/** Token ids one `direct_revoke` carries at most; a longer revocation set is sent in batches. */
export const MAX_REVOKE_BATCH = 1_024;

/**
 * Relay → connector: close every direct path of this identity (kicked), only its paths for
 * `service` (the access policy took that service away), or of these token ids (revoked). The relay
 * sends its whole revocation set when a connector registers a direct service, and every later
 * addition, so a connector that was away hears of revocations made meanwhile.
 */
export const DirectRevoke = z.strictObject({
  type: z.literal("direct_revoke"),
  identity: z.string().max(128).optional(),
  /** With `identity`: only that identity's paths for this service. */
  service: ServiceId.optional(),
  tokenIds: z.array(z.string().regex(/^[A-Za-z0-9_-]{16,64}$/)).max(MAX_REVOKE_BATCH).optional(),
}).refine((m) => m.identity !== undefined || m.tokenIds !== undefined, {
  message: "expected identity or tokenIds",
}).refine((m) => m.service === undefined || m.identity !== undefined, {
  message: "expected identity with service",
});

/**
 * Relay → peer: the relay now sees this connection at a new address (QUIC address discovery after
 * a NAT rebinding or a network change); later direct-path candidates use it.
 */
export const Observed = z.strictObject({
  type: z.literal("observed"),
  hostname: z.string().max(64),
  port: z.number().int().min(0).max(65_535),
});

/** Client → relay: which path its flows to `service` now take (for operators). */
export const PathReport = z.strictObject({
  type: z.literal("path_report"),
  service: ServiceId,
  path: z.enum(["direct", "relay"]),
});

/** Most relays one FLEET lists: a fleet is a handful of relays, each with a few addresses. */
export const MAX_FLEET_RELAYS = 64;

/** An address a peer may dial a relay of the fleet at, and the TLS name its certificate bears. */
export const FleetRelay = z.strictObject({
  /** `host:port` (IPv6 in brackets). */
  address: z.string().min(3).max(260).regex(/^[^\s/@]+:\d{1,5}$/),
  server_name: z.string().min(1).max(253).regex(/^[A-Za-z0-9.-]+$/).optional(),
});
export type FleetRelay = z.output<typeof FleetRelay>;

/**
 * Relay → peer (version 5 and later): the fleet's live relays, after WELCOME and whenever the set
 * changes; each replaces the last. Peers dial them with the same TLS checks as configured relays.
 */
export const Fleet = z.strictObject({
  type: z.literal("fleet"),
  relays: z.array(FleetRelay).max(MAX_FLEET_RELAYS),
});

/**
 * Relay → peer (version 5 and later): this relay is stopping. Running flows go on until its drain
 * ends; new ones belong on another relay, so a client moves at once.
 */
export const Drain = z.strictObject({ type: z.literal("drain") });

/** Every control message. */
export const ControlMessage = z.discriminatedUnion("type", [
  Hello,
  Welcome,
  Refused,
  Register,
  Ack,
  Nack,
  Unregister,
  Unregistered,
  DirectRequest,
  DirectOffer,
  DirectAccept,
  DirectReady,
  DirectRenew,
  DirectRenewed,
  DirectRefused,
  DirectHello,
  DirectWelcome,
  DirectRefresh,
  DirectRevoke,
  PathReport,
  Observed,
  LoginRefresh,
  LoginRefreshed,
  LoginRefused,
  Fleet,
  Drain,
]);
export type ControlMessage = z.output<typeof ControlMessage>;
export type ControlMessageInput = z.input<typeof ControlMessage>;
export type Hello = z.output<typeof Hello>;
export type Welcome = z.output<typeof Welcome>;
export type Register = z.output<typeof Register>;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Serialises a message body (framing is separate). */
export function encodeMessage(msg: ControlMessageInput): Uint8Array {
  return encoder.encode(JSON.stringify(msg));
}

/** Parses a frame body into a message, or a protocol_error: invalid UTF-8, JSON or shape. */
export function decodeMessage(
  body: Uint8Array,
): { ok: true; msg: ControlMessage } | { ok: false; code: "protocol_error"; why: string } {
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    return { ok: false, code: "protocol_error", why: "invalid UTF-8" };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, code: "protocol_error", why: "invalid JSON" };
  }
  const parsed = ControlMessage.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      code: "protocol_error",
      why: `${issue?.path.join(".") || "message"}: ${issue?.message}`,
    };
  }
  return { ok: true, msg: parsed.data };
}
