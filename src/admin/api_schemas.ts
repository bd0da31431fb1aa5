/**
 * The admin API's JSON shapes (`/api/v1`), as zod schemas: request bodies and queries the server
 * validates, and the answers `ztna admin` parses. The single source of the API's types; the
 * endpoint list is in docs/ADMIN.md. Pure: no I/O.
 * @module
 */
import { z } from "zod";
import {
  MAX_TOKEN_TTL_SECONDS,
  ServiceGrant,
  TokenId,
  TokenRole,
  TokenSubject,
} from "../auth/mod.ts";
import { AuditEntry, CredentialRecord, MAX_PAGE_SIZE } from "../store/mod.ts";
import { ADMIN_PROBLEM_CODES } from "./problem.ts";

const EpochMs = z.number().int().min(0);

/** Free text from an operator: a reason or note. */
const Reason = z.string().max(200, "expected at most 200 characters")
  .regex(/^[^\p{Cc}]*$/u, "expected no control characters");

/** `POST /api/v1/tokens`: issue a token. */
export const IssueTokenRequest = z.strictObject({
  subject: TokenSubject,
  role: TokenRole,
  services: z.array(ServiceGrant).min(1, "expected at least one service")
    .max(256, "expected at most 256 services")
    .transform((list) => [...new Set(list)]),
  ttlSeconds: z.number().int("expected whole seconds").min(1, "expected at least 1 second")
    .max(MAX_TOKEN_TTL_SECONDS, "expected at most 3650 days"),
});
export type IssueTokenRequest = z.output<typeof IssueTokenRequest>;

/** `POST /api/v1/tokens/revoke`. */
export const RevokeTokenRequest = z.strictObject({
  tokenId: TokenId,
  reason: Reason.optional(),
});
export type RevokeTokenRequest = z.output<typeof RevokeTokenRequest>;

/** `POST /api/v1/admin-tokens`. */
export const CreateAdminTokenRequest = z.strictObject({
  label: z.string().regex(
    /^[A-Za-z0-9._@-]{1,64}$/,
    "expected 1 to 64 letters, digits, '.', '_', '@' or '-'",
  ),
});
export type CreateAdminTokenRequest = z.output<typeof CreateAdminTokenRequest>;

/** `?limit=&cursor=` of the paged lists. */
export const PageQuery = z.strictObject({
  limit: z.string().regex(/^\d{1,4}$/, "expected a whole number").default("50")
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_PAGE_SIZE, `expected at most ${MAX_PAGE_SIZE}`)),
  cursor: z.string().min(1).max(1_024).optional(),
});
export type PageQuery = z.output<typeof PageQuery>;

/** One live peer connection. */
export const ConnectionInfo = z.strictObject({
  connId: z.string(),
  identity: z.string(),
  /** `pending` until the peer's HELLO is accepted. */
  role: z.enum(["client", "connector", "pending"]),
  /** `host:port` the relay sees. */
  remote: z.string(),
  /** Services a connector registered (empty for clients). */
  services: z.array(z.string()),
  /** `direct` when the client reports a direct (P2P) path for any of its services. */
  path: z.enum(["relay", "direct"]),
  /** How the peer reaches the relay: QUIC, or TLS over TCP (where UDP is blocked). */
  transport: z.enum(["quic", "tcp"]),
  /** Payload bytes received from the peer. */
  bytesIn: z.number(),
  /** Payload bytes sent to the peer. */
  bytesOut: z.number(),
  activeFlows: z.number().int(),
  /** When the QUIC handshake completed. */
  since: EpochMs,
  tokenId: z.string().optional(),
});
export type ConnectionInfo = z.output<typeof ConnectionInfo>;

/** One service's connector pool. */
export const ServiceInfo = z.strictObject({
  service: z.string(),
  /** `down`: a connector served it since start, none does now. */
  health: z.enum(["up", "down"]),
  members: z.array(z.strictObject({
    connId: z.string(),
    identity: z.string(),
    activeFlows: z.number().int(),
  })),
});
export type ServiceInfo = z.output<typeof ServiceInfo>;

/** One recent refusal. */
export const RefusalInfo = z.strictObject({
  at: EpochMs,
  code: z.string(),
  identity: z.string().optional(),
  service: z.string().optional(),
  connId: z.string().optional(),
  /** The access-policy rule that decided, or "no grant"; absent when the policy did not decide. */
  rule: z.string().optional(),
});
export type RefusalInfo = z.output<typeof RefusalInfo>;

/** A credential as listed: the stored metadata, its state now, and its live connections. */
export const TokenInfo = CredentialRecord.extend({
  status: z.enum(["active", "expired", "revoked"]),
  liveConnections: z.number().int(),
});
export type TokenInfo = z.output<typeof TokenInfo>;

/** Answer of `POST /api/v1/tokens`: the token, shown this once, and its metadata. */
export const IssuedTokenResponse = z.strictObject({ token: z.string(), credential: TokenInfo });

/** Answer of `POST /api/v1/tokens/revoke`. */
export const RevokeTokenResponse = z.strictObject({
  tokenId: z.string(),
  alreadyRevoked: z.boolean(),
  revokedAt: EpochMs,
  /** Live connections closed with token_revoked. */
  closedConnections: z.number().int(),
});

/** Answer of `POST /api/v1/connections/{connId}/kick`. */
export const KickResponse = z.strictObject({ connId: z.string(), identity: z.string() });

/** A page of a list. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.strictObject({ items: z.array(item), next: z.string().optional() });
}

export const TokenPage = pageOf(TokenInfo);
export const AuditPage = pageOf(AuditEntry);
export const ConnectionList = z.strictObject({ items: z.array(ConnectionInfo) });
export const ServiceList = z.strictObject({ items: z.array(ServiceInfo) });
export const RefusalList = z.strictObject({ items: z.array(RefusalInfo) });

/** An admin token as listed (never the token, never the whole hash). */
export const AdminTokenInfo = z.strictObject({
  id: z.string(),
  label: z.string(),
  source: z.enum(["config", "file", "store"]),
  createdAt: EpochMs.optional(),
  createdBy: z.string().optional(),
});
export const AdminTokenList = z.strictObject({ items: z.array(AdminTokenInfo) });

/** Answer of `POST /api/v1/admin-tokens`: the token, shown this once. */
export const CreatedAdminToken = z.strictObject({
  token: z.string(),
  id: z.string(),
  hash: z.string(),
  label: z.string(),
});

/** One relay of the fleet as this relay last read the store (`GET /api/v1/fleet`). */
export const FleetRelayInfo = z.strictObject({
  relayId: z.string(),
  addresses: z.array(z.strictObject({ address: z.string(), server_name: z.string().optional() })),
  state: z.enum(["up", "draining"]),
  /** `stale`: no heartbeat within the fleet's expiry_ms. */
  health: z.enum(["up", "draining", "stale"]),
  heartbeatAgeMs: z.number().int().min(0),
  startedAt: EpochMs,
  peers: z.number().int().min(0),
  flows: z.number().int().min(0),
  /** The relay that answered. */
  self: z.boolean(),
});
export type FleetRelayInfo = z.output<typeof FleetRelayInfo>;
export const FleetList = z.strictObject({ items: z.array(FleetRelayInfo) });

/** What `/api/v1/events` pushes every second, and `GET /api/v1/snapshot` answers. */
export const Snapshot = z.strictObject({
  at: EpochMs,
  connections: z.array(ConnectionInfo),
  services: z.array(ServiceInfo),
  refusals: z.array(RefusalInfo),
  fleet: z.array(FleetRelayInfo),
  totals: z.strictObject({
    clients: z.number().int(),
    connectors: z.number().int(),
    activeFlows: z.number().int(),
    refusals: z.number().int(),
  }),
});
export type Snapshot = z.output<typeof Snapshot>;

/** `/readyz`. */
export const Readiness = z.strictObject({
  ready: z.boolean(),
  checks: z.strictObject({
    listening: z.boolean(),
    store: z.boolean(),
    certificate: z.boolean(),
    draining: z.boolean(),
  }),
  certificateNotAfter: EpochMs.optional(),
});
export type Readiness = z.output<typeof Readiness>;

/** Every error answer (application/problem+json). */
export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  code: z.union([z.enum(ADMIN_PROBLEM_CODES), z.string()]),
  detail: z.string().optional(),
  errors: z.array(z.object({ pointer: z.string(), detail: z.string() })).optional(),
});
export type Problem = z.output<typeof Problem>;
