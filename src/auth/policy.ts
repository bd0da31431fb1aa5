/**
 * Who may do what: pure decisions over a verified {@link Identity}. The relay asks once per HELLO,
 * once per service registration and once per flow open (finding H2, M3), and acts on the answer.
 *
 * - HELLO: the role claimed in HELLO must be the token's role (`role_mismatch`).
 * - Registration: only connectors, only services they are granted (`unauthorized`).
 * - Flow: only clients, only services they are granted (`unauthorized`).
 *
 * Service ids that break the rules get `invalid_service_id`; with `nowMs`, an identity whose token
 * has expired since HELLO gets `token_expired`, so long-lived sessions cannot outlive their token.
 * `why` is for local logs and the admin API, never for the peer.
 * @module
 */
import { SERVICE_ID_PATTERN } from "../protocol/service_id.ts";
import type { ErrorCode } from "../protocol/errors.ts";
import { grantsService, type Identity, type TokenRole } from "./token_claims.ts";

/** The answer and its reason, nothing else. */
export type Decision = { allow: true } | { allow: false; code: ErrorCode; why: string };

/** Options of the per-request decisions. */
export interface AuthorizeOptions {
  /** Current time; when given, a token at or past its `exp` is refused (no grace). */
  nowMs?: number;
}

/** May this identity speak as `helloRole`? */
export function authorizeHello(identity: Identity, helloRole: TokenRole): Decision {
  if (identity.role !== helloRole) {
    return deny(
      "role_mismatch",
      `identity "${identity.subject}" has a ${identity.role} token but said HELLO as ${helloRole}`,
    );
  }
  return { allow: true };
}

/** May this identity register (serve) `service`? */
export function authorizeRegistration(
  identity: Identity,
  service: string,
  options: AuthorizeOptions = {},
): Decision {
  return authorize(identity, service, "connector", "register", options);
}

/** May this identity open a flow to `service`? */
export function authorizeFlow(
  identity: Identity,
  service: string,
  options: AuthorizeOptions = {},
): Decision {
  return authorize(identity, service, "client", "open a flow to", options);
}

function authorize(
  identity: Identity,
  service: string,
  role: TokenRole,
  action: string,
  { nowMs }: AuthorizeOptions,
): Decision {
  if (!SERVICE_ID_PATTERN.test(service)) {
    return deny("invalid_service_id", `Cannot ${action} service: id does not match the rules`);
  }
  if (nowMs !== undefined && identity.expiresAtMs <= nowMs) {
    return deny(
      "token_expired",
      `Cannot ${action} "${service}": token of "${identity.subject}" expired`,
    );
  }
  if (identity.role !== role) {
    return deny(
      "unauthorized",
      `Cannot ${action} "${service}": identity "${identity.subject}" is a ${identity.role}`,
    );
  }
  if (!grantsService(identity, service)) {
    return deny(
      "unauthorized",
      `Cannot ${action} "${service}": identity "${identity.subject}" has no grant for it`,
    );
  }
  return { allow: true };
}

function deny(code: ErrorCode, why: string): Decision {
  return { allow: false, code, why };
}
