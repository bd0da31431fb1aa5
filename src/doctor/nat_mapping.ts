/**
 * The NAT's mapping behaviour (RFC 4787) read from where relays saw one local UDP socket: the same
 * public address and port toward two different relay addresses is endpoint-independent mapping
 * (hole punching works); a different one per destination is endpoint-dependent ("symmetric": the
 * relay's observed address is useless to a peer). One destination cannot tell them apart.
 * Pure: no I/O.
 * @module
 */
import type { NatFacts } from "./report.ts";

/** Where one relay address saw the probe socket. */
export interface Observation {
  /** The relay address dialed (`host:port` as resolved). */
  relay: string;
  observed: { hostname: string; port: number };
}

/**
 * Classifies the mapping from observations of one socket bound to `localPort`, on a host whose
 * interface addresses are `localAddresses`.
 */
export function natMapping(
  observations: readonly Observation[],
  localPort: number,
  localAddresses: readonly string[],
): NatFacts {
  const out = (mapping: NatFacts["mapping"], why: string): NatFacts => ({
    mapping,
    why,
    observations: observations.map((o) => ({ relay: o.relay, observed: { ...o.observed } })),
  });
  if (observations.length === 0) {
    return out(
      "unknown",
      "no relay answered over QUIC, so nothing observed this host's UDP mapping",
    );
  }
  const untranslated = observations.every((o) =>
    o.observed.port === localPort && localAddresses.includes(o.observed.hostname)
  );
  const destinations = new Set(observations.map((o) => o.relay));
  if (untranslated) {
    return out("none", "the relays see this host's own address and port: no NAT in between");
  }
  if (destinations.size < 2) {
    return out(
      "unknown",
      "only one relay address answered; telling endpoint-independent from symmetric mapping " +
        "needs two (configure a second relay, or a relay name with two addresses)",
    );
  }
  const mapped = new Set(observations.map((o) => `${o.observed.hostname}:${o.observed.port}`));
  if (mapped.size === 1) {
    return out(
      "endpoint-independent",
      "two relay addresses saw the same public address and port: direct paths can be punched",
    );
  }
  return out(
    "endpoint-dependent",
    "each relay address saw another public port (symmetric NAT): direct paths will rarely work " +
      "from here; flows use the relay",
  );
}
