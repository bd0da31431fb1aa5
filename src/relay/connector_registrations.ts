/**
 * A connector's control stream at the relay after WELCOME: each `register` is admitted (rate, grant)
 * and ACKed into the service's pools or NACKed through the refusal observer, each `unregister` (v4)
 * takes it out again; the first direct-capable registration gets the whole revocation set first;
 * direct-path answers go to the broker.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Identity } from "../auth/mod.ts";
import { UNREGISTER_VERSION, ZtnaError } from "../protocol/mod.ts";
import type { ControlChannel } from "../transport/mod.ts";
import { admitRegistration } from "./admission.ts";
import type { PeerSession } from "./peer_session.ts";
import { poolKey } from "./registry.ts";

/** Serves `session`'s registrations until its control stream ends. */
export async function serveRegistrations(
  session: PeerSession,
  control: ControlChannel,
  identity: Identity,
  log: Logger,
): Promise<void> {
  while (true) {
    const msg = await control.next();
    if (msg === null) return;
    if (msg.type === "direct_accept" || msg.type === "direct_refused") {
      await session.deps.broker.answer(session, msg);
      continue;
    }
    if (msg.type === "unregister" && session.version >= UNREGISTER_VERSION) {
      // Leaves the pools only: flows already relayed to this connection go on to their end.
      for (const protocol of ["tcp", "udp"] as const) {
        session.deps.registry.remove(poolKey(msg.service, protocol), session.connId);
      }
      session.services.delete(msg.service);
      session.directServices.delete(msg.service);
      log.info("Unregistered {service}", { service: msg.service });
      await control.send({ type: "unregistered", service: msg.service });
      continue;
    }
    if (msg.type !== "register") {
      throw new ZtnaError("protocol_error", `unexpected ${msg.type} message`);
    }
    const decision = admitRegistration(
      identity,
      msg.service,
      session.deps.allowRegistration(identity.subject),
      session.deps.registrationsPerMinute,
    );
    if (!decision.allow) {
      session.deps.observer.refuse({
        code: decision.code,
        counter: session.deps.metrics.registrations,
        ...(decision.rateLimit ? { rateLimit: decision.rateLimit } : {}),
        identity: identity.subject,
        service: msg.service,
        connId: session.connId,
        message: "Refused registration of {service}: {code}",
        properties: { service: msg.service, code: decision.code },
        logger: log,
      });
      await control.send({ type: "nack", service: msg.service, code: decision.code });
      continue;
    }
    session.services.add(msg.service);
    if (msg.direct && session.directServices.size === 0) {
      // The connector learns every revocation: it may hold direct paths from before this
      // connection (it was away, or this relay restarted). Revocations after this snapshot
      // reach it through Relay.enforceRevocations, which sees it direct-capable from now on.
      const revoked = session.deps.revokedTokenIds();
      session.directServices.add(msg.service);
      await session.sendRevocations({ tokenIds: revoked });
    }
    if (msg.direct) session.directServices.add(msg.service);
    for (const protocol of msg.protocols ?? ["tcp"]) {
      session.deps.registry.add(poolKey(msg.service, protocol), session);
    }
    session.deps.metrics.registrations.inc("ack");
    log.info("Registered {service}", { service: msg.service });
    await control.send({ type: "ack", service: msg.service });
  }
}
