/**
 * The relay's answer to a HELLO, before any state changes: a common protocol version, then the
 * token (or, for a login, the ID token turned into a freshly issued ztna token) verified and the
 * role authorized. The session applies the outcome; this file decides it.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { authorizeHello, type Identity } from "../auth/mod.ts";
import { type ErrorCode, type Hello, PROTOCOL_VERSIONS } from "../protocol/mod.ts";
import type { SessionDeps } from "./peer_session.ts";

/** A HELLO accepted (with the identity and the version agreed) or refused (with why). */
export type HelloOutcome =
  | { ok: true; identity: Identity; version: number; issuedToken?: string }
  | { ok: false; code: ErrorCode; why: string; version?: number };

/** The highest protocol version both sides speak, or undefined when they share none. */
export function commonVersion(offered: readonly number[]): number | undefined {
  const common = offered.filter((v) => (PROTOCOL_VERSIONS as readonly number[]).includes(v));
  return common.length === 0 ? undefined : Math.max(...common);
}

/** Checks a HELLO: version, credentials (token or login), role. */
export async function checkHello(
  hello: Hello,
  deps: Pick<SessionDeps, "verify" | "login">,
  log: Logger,
): Promise<HelloOutcome> {
  const version = commonVersion(hello.versions);
  if (version === undefined) {
    return {
      ok: false,
      code: "version_unsupported",
      why: `peer speaks ${hello.versions.join(",")}`,
    };
  }
  const refused = (code: ErrorCode, why: string): HelloOutcome => ({
    ok: false,
    code,
    why,
    version,
  });
  let identity: Identity;
  let issuedToken: string | undefined;
  if (hello.id_token !== undefined) {
    // Single sign-on: the ID token becomes a freshly issued ztna token, returned in WELCOME.
    if (!deps.login) return refused("unauthenticated", "login without [intermediate.oidc]");
    if (hello.token !== "" || hello.role !== "client") {
      return refused("unauthenticated", "login HELLO must be a client's, without token");
    }
    const result = await deps.login(hello.id_token);
    if (!result.ok) return refused(result.code, result.why);
    identity = result.grant.identity;
    issuedToken = result.grant.token;
    log.info("Login of {identity} (groups {groups}): issued token {tokenId}", {
      identity: identity.subject,
      groups: (identity.groups ?? []).join(","),
      tokenId: identity.tokenId,
    });
  } else {
    if (hello.token === "") return refused("unauthenticated", "HELLO without a token");
    const verified = await deps.verify(hello.token);
    if (!verified.ok) return refused(verified.code, verified.why);
    identity = verified.identity;
  }
  const decision = authorizeHello(identity, hello.role);
  if (!decision.allow) return refused(decision.code, decision.why);
  return { ok: true, identity, version, ...(issuedToken === undefined ? {} : { issuedToken }) };
}
