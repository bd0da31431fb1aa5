/**
 * A client's control stream after WELCOME: path reports, login refreshes and direct-path requests
 * and renewals; anything else is a protocol error that closes the connection.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Identity } from "../auth/mod.ts";
import { ZtnaError } from "../protocol/mod.ts";
import type { ControlChannel } from "../transport/mod.ts";
import type { PeerSession } from "./peer_session.ts";

/** Serves `session`'s control messages until the stream ends. @throws {ZtnaError} protocol_error */
export async function serveClientControl(
  session: PeerSession,
  control: ControlChannel,
  identity: Identity,
  log: Logger,
): Promise<void> {
  const { deps } = session;
  while (true) {
    const msg = await control.next();
    if (msg === null) return;
    if (msg.type === "path_report") {
      if (session.paths.get(msg.service) !== msg.path) {
        session.paths.set(msg.service, msg.path);
        deps.metrics.pathChanges.inc(msg.path);
        log.info("Flows of {identity} to {service} now take the {path} path", {
          identity: identity.subject,
          service: msg.service,
          path: msg.path,
        });
      }
    } else if (msg.type === "login_refresh") {
      await refreshLogin(session, control, identity, msg.id_token, log);
    } else if (msg.type === "direct_request") {
      await deps.broker.request(session, identity, msg);
    } else if (msg.type === "direct_renew") {
      await deps.broker.renew(session, identity, msg);
    } else {
      throw new ZtnaError("protocol_error", `unexpected ${msg.type} message from a client`);
    }
  }
}

/**
 * A logged-in client's refresh: a new ID token for the same person becomes a new ztna token, and
 * the session goes on under it. The identity object is updated in place because this session's
 * flows hold it: their expiry and revocation checks, and the policy's groups, follow at once.
 */
async function refreshLogin(
  session: PeerSession,
  control: ControlChannel,
  identity: Identity,
  idToken: string,
  log: Logger,
): Promise<void> {
  const { deps } = session;
  const result = deps.login
    ? await deps.login(idToken, identity.subject)
    : { ok: false as const, code: "unauthenticated" as const, why: "no [intermediate.oidc]" };
  if (!result.ok) {
    deps.observer.refuse({
      code: result.code,
      counter: deps.metrics.authFailures,
      connId: session.connId,
      identity: identity.subject,
      message: "Refused the login refresh of {identity}: {code} ({why})",
      properties: { identity: identity.subject, code: result.code, why: result.why },
      logger: log,
    });
    await control.send({ type: "login_refused", code: result.code });
    return;
  }
  const { grant } = result;
  Object.assign(identity, grant.identity);
  session.holdToken(identity);
  log.info("Login of {identity} refreshed (groups {groups}): token {tokenId}", {
    identity: identity.subject,
    groups: (identity.groups ?? []).join(","),
    tokenId: identity.tokenId,
  });
  await control.send({
    type: "login_refreshed",
    token: grant.token,
    tokenExpiresAt: identity.expiresAtMs,
  });
  deps.reenforcePolicy();
}
