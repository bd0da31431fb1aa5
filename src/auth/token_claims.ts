/**
 * What a ztna token says (the JWT payload, as a zod schema) and the {@link Identity} the rest of the
 * program works with once a token is verified.
 *
 * A token is a compact JWS (alg EdDSA, header `typ: "ztna+jwt"`, `kid` = signing key thumbprint) whose
 * payload is {@link TokenClaims}: issuer, subject, role, granted services, issue and expiry times
 * (seconds) and a random token id used for revocation. Pure: no I/O, no clock.
 * @module
 */
import { z } from "zod";
import { SERVICE_ID_PATTERN } from "../protocol/service_id.ts";

/** The `iss` claim of every ztna token. */
export const TOKEN_ISSUER = "ztna";

/** The `typ` header of every ztna token; stops other JWTs signed by the same key being replayed here. */
export const TOKEN_TYPE = "ztna+jwt";

/** The only JWS algorithm we sign with and accept (Ed25519). */
export const TOKEN_ALGORITHM = "EdDSA";

/** Longest token text accepted, matching the HELLO schema; longer input is refused before parsing. */
export const MAX_TOKEN_LENGTH = 8_192;

/**
 * Clock difference tolerated between issuer and relay, for the `iat` check only. Expiry has no grace
 * anywhere: `exp` is read on the relay's clock (and a direct path's end on the connector's), so a
 * token is never welcomed and then closed a moment later, and no path outlives `exp`.
 */
export const CLOCK_SKEW_MS = 30_000;

/** Longest lifetime a token may be issued with: ten years, so typos like `3650000d` are caught. */
export const MAX_TOKEN_TTL_SECONDS = 3_650 * 86_400;

/** Most services one token may list; matches the HELLO answer's limit. */
export const MAX_TOKEN_SERVICES = 256;

/** The grant that matches every service. */
export const ALL_SERVICES = "*";

/** Token ids (`jti`): 16 to 64 base64url characters; we issue 22 (16 random bytes). */
export const TOKEN_ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** Identity names: no control, format or unassigned characters (they would corrupt logs). */
const SUBJECT_PATTERN = /^[^\p{C}]+$/u;

/** The `sub` claim: who holds the token, as shown in logs and the admin API. */
export const TokenSubject = z.string()
  .min(1, "expected a subject of at least 1 character")
  .max(128, "expected a subject of at most 128 characters")
  .regex(SUBJECT_PATTERN, "expected a subject without control characters");

/** The `role` claim: which side of a tunnel the holder may be. */
export const TokenRole = z.enum(["client", "connector"]);
export type TokenRole = z.output<typeof TokenRole>;

/** One granted service: a service id, or `*` for all of them. */
export const ServiceGrant = z.union([
  z.literal(ALL_SERVICES),
  z.string().regex(
    SERVICE_ID_PATTERN,
    `expected a service id matching ${SERVICE_ID_PATTERN.source} or "*"`,
  ),
]);

/** Most groups one token may carry (from an identity provider's groups claim). */
export const MAX_TOKEN_GROUPS = 256;

/** A group name: 1 to 128 characters without control characters (they would corrupt logs). */
export const TokenGroup = z.string().min(1).max(128).regex(
  SUBJECT_PATTERN,
  "expected a group name without control characters",
);

/** The `jti` claim. */
export const TokenId = z.string().regex(TOKEN_ID_PATTERN, "expected 16 to 64 base64url characters");

const Seconds = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER / 1_000);

/** The payload of a ztna token. Unknown claims are refused: a claim we do not understand may restrict. */
export const TokenClaims = z.strictObject({
  iss: z.literal(TOKEN_ISSUER),
  sub: TokenSubject,
  role: TokenRole,
  svc: z.array(ServiceGrant)
    .min(1, "expected at least one service")
    .max(MAX_TOKEN_SERVICES, `expected at most ${MAX_TOKEN_SERVICES} services`)
    .refine((list) => new Set(list).size === list.length, "expected no duplicate services"),
  iat: Seconds,
  exp: Seconds,
  jti: TokenId,
  /**
   * Groups of a person's token (`ztna login`), as the identity provider said at login or refresh;
   * the access policy reads them. Machine tokens have none.
   */
  grp: z.array(TokenGroup).max(MAX_TOKEN_GROUPS).optional(),
}).refine((c) => c.exp > c.iat, { message: "expected exp after iat", path: ["exp"] })
  .refine((c) => c.exp - c.iat <= MAX_TOKEN_TTL_SECONDS, {
    message: "expected a lifetime of at most 3650 days",
    path: ["exp"],
  });
export type TokenClaims = z.output<typeof TokenClaims>;

/** Who a verified peer is and what it may do; built only from verified {@link TokenClaims}. */
export const Identity = z.strictObject({
  /** The token's `sub`. */
  subject: TokenSubject,
  role: TokenRole,
  /** Granted service ids, or `*`. */
  services: z.array(ServiceGrant),
  /** The token's `jti`, the handle for revocation. */
  tokenId: TokenId,
  /** Expiry of the token, in milliseconds since the epoch. */
  expiresAtMs: z.number().int(),
  /** The token's `grp`: groups for the access policy; absent for machine tokens. */
  groups: z.array(TokenGroup).optional(),
});
export type Identity = z.output<typeof Identity>;

/** Maps verified claims to the identity the program passes around. */
export function identityFromClaims(claims: TokenClaims): Identity {
  return {
    subject: claims.sub,
    role: claims.role,
    services: [...claims.svc],
    tokenId: claims.jti,
    expiresAtMs: claims.exp * 1_000,
    ...(claims.grp === undefined ? {} : { groups: [...claims.grp] }),
  };
}

/** True when the identity's grants name `service` exactly or include `*`. */
export function grantsService(identity: Identity, service: string): boolean {
  return identity.services.some((grant) => grant === ALL_SERVICES || grant === service);
}
