/**
 * zod schemas of `[connector]` and `[client]`: the relays they dial and how, the connector's
 * services, the client's forwards, proxy endpoints and login. Pure; every key is documented in
 * config.example.toml.
 * @module
 */
import { z } from "zod";
import { parseHostPort } from "../protocol/address.ts";
import { parseProxyUrl } from "../protocol/proxy_url.ts";
import { parseNetPattern } from "./net_pattern.ts";
import { ServiceId, TransportProtocol } from "../protocol/service_id.ts";
import { Count, FilePath, HostPort, HttpsUrl, isLoopbackHost, Millis } from "./schema_fields.ts";

/**
 * An HTTP proxy URL (`http://host:port`); the error never repeats the value, which may hold a
 * password someone wrote by mistake.
 */
const ProxyUrl = z.string().superRefine((value, ctx) => {
  const parsed = parseProxyUrl(value);
  if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.reason, input: "(not shown)" });
});

/** One relay a connector or client dials. */
export const RelayTarget = z.strictObject({
  address: HostPort,
  /** TLS server name to verify; defaults to the host part of `address`. */
  server_name: z.string().min(1).optional(),
});

/** Settings shared by the two dialing roles (connector and client). */
const DialerFields = {
  relays: z.array(RelayTarget).min(1, "expected at least one relay"),
  /**
   * Relays learnt from the fleet (the relay's FLEET message) are dialled only when their address
   * falls in one of these (host or IPv4 prefix, optional :port); the sandbox's network grows by
   * exactly these entries. Empty: only the configured relays.
   */
  learn_relays: z.array(
    z.string().superRefine((value, ctx) => {
      const parsed = parseNetPattern(value);
      if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.reason });
    }),
  ).max(32).default([]),
  /**
   * PEM bundle of CAs trusted for relay certificates, on top of the system roots: a file, or the
   * PEM text itself (for a config passed on stdin by a user who cannot write /etc/ztna).
   */
  ca: FilePath.optional(),
  /** File holding the token; the ZTNA_TOKEN environment variable overrides it. */
  token_file: FilePath.optional(),
  /** Keep-alive interval: a dead relay is noticed within about idle_timeout_ms + keepalive_ms. */
  keepalive_ms: Millis(600_000).default(1_000),
  idle_timeout_ms: Millis(600_000).default(2_500),
  reconnect_min_ms: Millis(600_000).default(500),
  reconnect_max_ms: Millis(3_600_000).default(30_000),
  /**
   * HTTP CONNECT proxy leading to the relays, `http://host:port` (TCP transport only: QUIC is UDP);
   * HTTPS_PROXY when absent. Never with credentials: those go in proxy_credentials_file.
   */
  proxy: ProxyUrl.optional(),
  /** Relays reached without the proxy (NO_PROXY syntax: host suffixes, host:port, "*"). */
  no_proxy: z.array(z.string().min(1).max(260)).max(1_000).optional(),
  /** File holding `user:password` for the proxy (Basic); ZTNA_PROXY_CREDENTIALS overrides it. */
  proxy_credentials_file: FilePath.optional(),
  /** Hole punching gives up after this long. */
  direct_punch_timeout_ms: Millis(60_000).default(3_000),
  /** A direct path silent this long is dead (keep-alives run at a third of it). */
  direct_idle_timeout_ms: Millis(600_000).default(2_500),
  /**
   * How to reach the relays: "quic" (UDP), "tcp" (TLS over TCP, where UDP is blocked or through
   * an HTTP proxy), or "auto": QUIC first, TCP too when QUIC has not connected (no answer over UDP)
   * within tcp_fallback_ms, the first to authenticate wins; while on TCP, QUIC is tried again every
   * quic_probe_ms and new flows move to it when it authenticates.
   */
  transport: z.enum(["auto", "quic", "tcp"]).default("auto"),
  /** With transport = "auto": how long QUIC alone may try before TCP starts too. */
  tcp_fallback_ms: Millis(60_000).default(500),
  /** With transport = "auto", while on TCP: how often QUIC is tried again (±25 % jitter). */
  quic_probe_ms: Millis(3_600_000).default(30_000),
  /**
   * With transport = "auto" and a session on QUIC: also keep a TLS-over-TCP link (the TCP lane) to
   * the same relay, same token, and carry TCP flows on it (2–2.8× the throughput of QUIC here);
   * UDP flows, direct paths and control stay on QUIC. Where TCP does not reach, QUIC carries all.
   * Off by default for now: a login refresh reaches the lane after the primary connection has
   * reported it (docs/PROTOCOL.md, "TCP lane").
   */
  tcp_lane: z.boolean().default(false),
};

/**
 * Refinement for both dialing roles: a keep-alive must come well within the idle timeout, or an
 * idle connection dies between two keep-alives (QUIC retransmits a lost one after a probe timeout,
 * so one interval of margin is enough).
 */
function keepAliveWithinIdle(
  section: { keepalive_ms: number; idle_timeout_ms: number },
  ctx: z.RefinementCtx,
): void {
  if (section.keepalive_ms * 2 > section.idle_timeout_ms) {
    ctx.addIssue({
      code: "custom",
      path: ["keepalive_ms"],
      input: section.keepalive_ms,
      message: `expected at most half of idle_timeout_ms (${section.idle_timeout_ms}), ` +
        `got ${section.keepalive_ms}`,
    });
  }
}

/** Refinement for both dialing roles: backoff starts at the minimum and grows to the maximum. */
function backoffInOrder(
  section: { reconnect_min_ms: number; reconnect_max_ms: number },
  ctx: z.RefinementCtx,
): void {
  if (section.reconnect_min_ms > section.reconnect_max_ms) {
    ctx.addIssue({
      code: "custom",
      path: ["reconnect_min_ms"],
      input: section.reconnect_min_ms,
      message: `expected at most reconnect_max_ms (${section.reconnect_max_ms}), ` +
        `got ${section.reconnect_min_ms}`,
    });
  }
}

/** Refinement: each `key` value appears once in `list`, else the later entry is reported. */
function unique<K extends string>(listKey: string, key: K, what: string) {
  return (list: ReadonlyArray<Record<K, string>>, ctx: z.RefinementCtx): void => {
    const seen = new Set<string>();
    for (const [i, entry] of list.entries()) {
      if (seen.has(entry[key])) {
        ctx.addIssue({
          code: "custom",
          path: [i, key],
          input: entry[key],
          message: `duplicate ${what} ${JSON.stringify(entry[key])}; each ${listKey} needs its own`,
        });
      }
      seen.add(entry[key]);
    }
  };
}

/** `[[connector.service]]`: a private service and the only backend it may reach. */
export const ConnectorService = z.strictObject({
  id: ServiceId,
  backend: HostPort,
  /** "tcp", "udp", or both as a list (one backend address serving both). */
  protocol: z.union([TransportProtocol, z.array(TransportProtocol).min(1)]).default("tcp")
    .transform((p): ("tcp" | "udp")[] => Array.isArray(p) ? [...new Set(p)] : [p]),
});

/** UDP flow settings shared by connector and client. */
const UdpFields = {
  /** A UDP flow without datagrams in either direction for this long is closed. */
  udp_idle_timeout_ms: Millis(3_600_000).default(60_000),
  /** Open UDP flows at most (each is one socket at the connector). */
  max_udp_flows: Count(1_000_000).default(4_096),
  /** Datagrams waiting or in flight, per flow and direction; beyond it the newest is dropped. */
  udp_queue_depth: Count(65_536).default(256),
};

/**
 * A status endpoint's address: loopback only, because it has no authentication and names
 * services, backends and relays, which are nobody else's business.
 */
const StatusHostPort = HostPort.superRefine((value, ctx) => {
  const parsed = parseHostPort(value);
  if (parsed.ok && !isLoopbackHost(parsed.value.hostname)) {
    ctx.addIssue({
      code: "custom",
      message: `${value} is not a loopback address; the status endpoint has no authentication ` +
        "and names services and relays: use 127.0.0.1",
    });
  }
});

/** `[connector]`: the app connector beside private services. */
export const ConnectorSection = z.strictObject({
  ...DialerFields,
  connect_timeout_ms: Millis(600_000).default(5_000),
  /**
   * Over the TCP transport: idle TLS connections kept open to each relay, each ready to carry one
   * flow at once (a used one is replaced at once; the relay asks for more in a burst).
   */
  tcp_offers: Count(64).default(4),
  ...UdpFields,
  /** Open UDP flows per client identity. */
  max_udp_flows_per_identity: Count(1_000_000).default(256),
  /**
   * Accept direct (P2P) connections from clients holding a relay ticket. Off by default: Deno
   * cannot scope the egress sandbox to UDP, so enabling it lets the sandbox reach any address
   * (the allow-list in code still limits backends).
   */
  direct: z.boolean().default(false),
  /** UDP port of the endpoint that dials the relays and takes direct connections (0 = any). */
  direct_port: z.number().int().min(0).max(65_535).default(0),
  /**
   * A local HTTP endpoint with `/metrics` (Prometheus text) and `/status` (JSON); off by default,
   * loopback only. Bound when the connector starts; a reload does not move it.
   */
  status_listen: StatusHostPort.optional(),
  service: z.array(ConnectorService).min(1, "expected at least one [[connector.service]]")
    .superRefine(unique("[[connector.service]]", "id", "service id")),
}).superRefine(backoffInOrder).superRefine(keepAliveWithinIdle);

/** `[[client.forward]]`: a local listener whose connections become flows to a service. */
export const ClientForward = z.strictObject({
  listen: HostPort,
  service: ServiceId,
  protocol: TransportProtocol.default("tcp"),
});

/**
 * Refinement: two forwards of one protocol cannot listen on the same address (the second bind
 * would fail at start with "address in use"); the later entry is reported.
 */
function distinctListeners(
  list: ReadonlyArray<{ listen: string; protocol: string }>,
  ctx: z.RefinementCtx,
): void {
  const seen = new Map<string, number>();
  for (const [i, forward] of list.entries()) {
    const addr = parseHostPort(forward.listen);
    const key = addr.ok
      ? `${forward.protocol} ${addr.value.hostname.toLowerCase()}:${addr.value.port}`
      : `${forward.protocol} ${forward.listen}`;
    const earlier = seen.get(key);
    if (earlier !== undefined && !(addr.ok && addr.value.port === 0)) {
      ctx.addIssue({
        code: "custom",
        path: [i, "listen"],
        input: forward.listen,
        message: `${forward.protocol} ${forward.listen} is already the listen address of ` +
          `client.forward[${earlier}]; give each forward its own port`,
      });
    }
    seen.set(key, i);
  }
}

/**
 * `[client.login]`: the client logs its person in at an OpenID Connect provider (device
 * authorization grant) instead of reading a token; the relay named in `[[client.relays]]` must
 * have the same provider in its `[intermediate.oidc]`.
 */
export const ClientLogin = z.strictObject({
  issuer: HttpsUrl,
  client_id: z.string().min(1).max(256),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/)).max(32)
    .default(["openid", "offline_access", "groups"]),
  /** PEM bundle of CAs trusted for the provider's HTTPS (a file or the PEM text). */
  ca: FilePath.optional(),
});

/** The keys of `[client]`, before the checks across keys. */
const ClientFields = z.strictObject({
  ...DialerFields,
  ...UdpFields,
  /** Try a direct (P2P) path to each service's connector; the relay stays the fallback. */
  direct: z.boolean().default(true),
  /** After a failed or lost direct path, try again after this long. */
  direct_retry_ms: Millis(3_600_000).default(10_000),
  /**
   * A new local connection waits this long for a relay connection (the client is reconnecting, or
   * its relay just vanished) before it is closed.
   */
  relay_wait_ms: z.number().int().min(0).max(600_000).default(5_000),
  /**
   * Connections to the relay this client may hold at once. Each carries the relay's
   * `max_streams_per_connection` − 1 flows; another opens when they are all in use. The relay's
   * `max_connections_per_identity` (16 by default) caps it too: 16 × 127 = 2,032 flows.
   */
  max_relay_connections: Count(1_000).default(16),
  /**
   * Over the TCP transport (or lane): STREAM connections kept dialed ahead on each TCP connection
   * to a relay, each ready to carry one flow; a used one is replaced at once. A flow on a fresh
   * connection waits ~40 ms longer for its first answer (docs/PROTOCOL.md, "Spare STREAM
   * connections"). 0 turns them off.
   */
  tcp_spare_streams: z.number().int().min(0).max(64).default(2),
  forward: z.array(ClientForward).default([]).superRefine(distinctListeners),
  /**
   * A SOCKS5 endpoint (CONNECT with service names) on this address. Off loopback only with
   * endpoint credentials (the loader checks it: ZTNA_ENDPOINT_CREDENTIALS may supply them).
   */
  socks: HostPort.optional(),
  /** An HTTP CONNECT proxy endpoint on this address; off loopback only with credentials, as `socks`. */
  http_proxy: HostPort.optional(),
  /**
   * A file whose first line is `user:password`: local programs must present it to `socks` (RFC 1929)
   * and `http_proxy` (Proxy-Authorization: Basic). ZTNA_ENDPOINT_CREDENTIALS overrides it.
   */
  endpoint_credentials_file: z.string().min(1).optional(),
  /**
   * Wrong credentials from one address, each within `endpoint_auth_window_ms` of the previous one,
   * after which that address's connections to `socks` and `http_proxy` are refused before their
   * credentials are read, until `endpoint_auth_window_ms` has passed since its last failure.
   */
  endpoint_auth_failures: Count(1_000_000).default(10),
  /** How long a wrong credential is remembered, and a block lasts, after an address's last one. */
  endpoint_auth_window_ms: Millis(86_400_000).default(60_000),
  /** Proxy requests may name a service `id` or `id.<service_suffix>`. */
  service_suffix: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/).default("ztna"),
  /** Log in at an identity provider instead of reading token_file (`ztna login`). */
  login: ClientLogin.optional(),
  /**
   * A local HTTP endpoint with `/metrics` (Prometheus text) and `/status` (JSON); off by default,
   * loopback only: it names services and relays, which are nobody else's business.
   */
  status_listen: StatusHostPort.optional(),
});

/**
 * The client of `ztna connect SERVICE`: `[client]` without local listeners, since its one flow runs
 * on stdin and stdout (an SSH ProxyCommand).
 */
export const ClientConnectSection = ClientFields.superRefine(backoffInOrder)
  .superRefine(keepAliveWithinIdle);

/** `[client]`: exposes remote services on local ports. */
export const ClientSection = ClientFields.superRefine(backoffInOrder)
  .superRefine(keepAliveWithinIdle).superRefine((c, ctx) => {
    if (c.forward.length === 0 && !c.socks && !c.http_proxy) {
      ctx.addIssue({
        code: "custom",
        path: ["forward"],
        message: "expected at least one [[client.forward]], or socks or http_proxy",
      });
    }
  });
