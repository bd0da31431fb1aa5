/**
 * What a proxy front end answers its local client (pure): the SOCKS5 reply or HTTP CONNECT status
 * for a flow that opened, for one the relay or connector refused, and for a request refused here
 * before any flow (a name problem or no relay session).
 * @module
 */
import type { ErrorCode } from "../protocol/mod.ts";
import { SOCKS_REPLY, socksReply, type SocksReplyCode } from "./socks5.ts";
import { connectResponse } from "./http_connect.ts";
import type { NameRefusal } from "./service_name.ts";

/** The proxy protocol a front end speaks. */
export type ProxyKind = "socks" | "http";

/** Why a request was refused before any flow: a name problem or no relay session. */
export type LocalRefusal = NameRefusal | "no_relay";

const SOCKS_FOR_LOCAL: Record<LocalRefusal, SocksReplyCode> = {
  unknown_service: SOCKS_REPLY.host_unreachable,
  not_granted: SOCKS_REPLY.not_allowed,
  no_relay: SOCKS_REPLY.network_unreachable,
};
const HTTP_FOR_LOCAL: Record<LocalRefusal, number> = {
  unknown_service: 404,
  not_granted: 403,
  no_relay: 503,
};

/** The SOCKS5 reply for a flow the relay or connector refused. */
export function socksCodeFor(code: ErrorCode | "unknown"): SocksReplyCode {
  switch (code) {
    case "unauthorized":
    case "token_expired":
    case "token_revoked":
    case "token_invalid":
      return SOCKS_REPLY.not_allowed;
    case "unknown_service":
    case "no_connector":
    case "invalid_service_id":
      return SOCKS_REPLY.host_unreachable;
    case "backend_refused":
    case "backend_unreachable":
      return SOCKS_REPLY.connection_refused;
    case "backend_timeout":
      return SOCKS_REPLY.ttl_expired;
    default:
      return SOCKS_REPLY.general_failure;
  }
}

/** The HTTP status for a flow the relay or connector refused. */
export function httpStatusFor(code: ErrorCode | "unknown"): number {
  switch (code) {
    case "unauthorized":
    case "token_expired":
    case "token_revoked":
    case "token_invalid":
      return 403;
    case "unknown_service":
    case "invalid_service_id":
      return 404;
    case "no_connector":
    case "limit_exceeded":
    case "relay_overloaded":
      return 503;
    case "backend_timeout":
      return 504;
    default:
      return 502;
  }
}

/** The answer to a request refused before any flow. */
export function localRefusalAnswer(kind: ProxyKind, code: LocalRefusal): Uint8Array {
  return kind === "socks"
    ? socksReply(SOCKS_FOR_LOCAL[code])
    : connectResponse(HTTP_FOR_LOCAL[code], code);
}

/** The answer to a flow that opened: bytes may flow from now on. */
export function openedAnswer(kind: ProxyKind): Uint8Array {
  return kind === "socks" ? socksReply(SOCKS_REPLY.succeeded) : connectResponse(200);
}

/** The answer to a flow the relay or connector refused with `code`. */
export function refusedAnswer(kind: ProxyKind, code: ErrorCode | "unknown"): Uint8Array {
  return kind === "socks"
    ? socksReply(socksCodeFor(code))
    : connectResponse(httpStatusFor(code), code);
}
