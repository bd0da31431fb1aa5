/**
 * zod schema of `[intermediate]`: the relay's listen address and certificate, limits, admin endpoint,
 * ACME, single sign-on, store and fleet. Pure; every key is documented in config.example.toml.
 * @module
 */
import { z } from "zod";
import { parseHostPort } from "../protocol/address.ts";
import { Count, FilePath, HostPort, HttpsUrl, isLoopbackHost, Millis } from "./schema_fields.ts";

/** Limits the relay enforces; every one is visible in metrics once the admin endpoint exists. */
export const RelayLimits = z.strictObject({
  max_connections: Count(1_000_000).default(10_000),
  max_connections_per_identity: Count(100_000).default(16),
  max_flows: Count(10_000_000).default(100_000),
  /**
   * Concurrent streams (flows + the control stream) one client connection may have open; more wait
   * at the client. Deno preallocates per allowed stream, so it costs memory on every connection.
   */
  max_streams_per_connection: Count(100_000).default(128),
  /** Datagrams waiting or in flight to one connection; beyond it the newest is dropped and counted. */
  datagram_queue_depth: Count(1_000_000).default(1_024),
  /** New QUIC handshakes per second in total, refused before any crypto work beyond it. */
  handshakes_per_second: Count(1_000_000).default(500),
  /** Handshakes per second from one source address (checked once the address is known). */
  handshakes_per_second_per_source: Count(1_000_000).default(10),
  /** Handshakes one source may make at once before its rate applies. */
  handshake_burst_per_source: Count(1_000_000).default(20),
  /** Flow opens per second of one identity (TCP and UDP). */
  flow_opens_per_second_per_identity: Count(1_000_000).default(200),
  /** Flow opens one identity may make at once before its rate applies. */
  flow_open_burst_per_identity: Count(1_000_000).default(400),
  /** Service registrations per minute of one identity. */
  registrations_per_minute_per_identity: Count(1_000_000).default(120),
  /** Flows of one connection waiting for their OPEN header or the connector's REPLY. */
  max_pending_opens_per_connection: Count(100_000).default(1_024),
  /**
   * Idle OFFER connections (TCP transport) one connector link may park at the relay, each a TLS
   * connection ready to carry one flow; more are closed at once.
   */
  max_idle_offers_per_connection: Count(10_000).default(64),
  /**
   * TLS-over-TCP connections from one source address still owing their TLS handshake and preamble
   * (a client's burst of flows is one connection each); more are closed at once (slow-loris, floods).
   */
  tcp_pending_per_source: Count(1_000_000).default(256),
  hello_timeout_ms: Millis(600_000).default(5_000),
  /** The connector's REPLY deadline: it answers after its backend connect, so slow backends fit. */
  flow_open_timeout_ms: Millis(600_000).default(10_000),
  /**
   * A protocol-3 connector ACCEPTs a FLOW as soon as it arrives (before its backend connect); one
   * silent this long is marked suspect and the flow goes to another pool member, if there is one.
   */
  flow_accept_timeout_ms: Millis(600_000).default(1_000),
  /**
   * A flow for a service with no connector online waits this long for one to register (a connector
   * restarting, or every connector re-homing after a relay restart) before `no_connector`.
   */
  connector_wait_ms: z.number().int().min(0).max(600_000).default(5_000),
  /**
   * After a start, how long a service no connector has registered yet is `no_connector` (and waits
   * like one) rather than `unknown_service`: connectors re-home within seconds of a relay restart.
   */
  registration_grace_ms: z.number().int().min(0).max(600_000).default(30_000),
  /**
   * Longest a direct (P2P) path lives on one ticket: the connector closes it then unless the client
   * presented a fresh one, which the relay grants only after the checks of a new flow (expiry,
   * revocation, grants, rate). Bounds how long a connector that missed a revocation can serve.
   */
  direct_path_max_lifetime_ms: z.number().int().min(1_000).max(86_400_000).default(600_000),
});

/** An admin token's SHA-256 as written in config: `sha256:` and 64 lowercase hex digits. */
export const ADMIN_TOKEN_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** `[intermediate.admin]`: the relay's admin HTTP endpoint (API, metrics, dashboard). */
export const AdminSection = z.strictObject({
  enabled: z.boolean().default(true),
  listen: HostPort.default("127.0.0.1:4434"),
  /** Serve HTTPS with the relay's certificate; required off loopback. */
  tls: z.boolean().default(false),
  token_hashes: z.array(
    z.string().regex(
      ADMIN_TOKEN_HASH_PATTERN,
      'expected "sha256:" and 64 lowercase hex digits (ztna admin admin-token create prints one)',
    ),
  ).max(1_000).default([]),
  /** File of admin token hashes, one per line; `#` starts a comment. */
  token_hashes_file: FilePath.optional(),
  /** Ed25519 private key for issuing tokens through the API; without it issuing answers 501. */
  token_signing_key: FilePath.optional(),
  metrics_public: z.boolean().default(false),
  /** Audit entries older than this many days are deleted (at start, then hourly). */
  audit_retention_days: Count(36_500).default(365),
}).superRefine((admin, ctx) => {
  const addr = parseHostPort(admin.listen);
  if (admin.enabled && !admin.tls && addr.ok && !isLoopbackHost(addr.value.hostname)) {
    ctx.addIssue({
      code: "custom",
      path: ["tls"],
      input: admin.tls,
      message: `expected true because listen (${JSON.stringify(admin.listen)}) is not a ` +
        "loopback address: admin tokens must not cross a network in clear text",
    });
  }
});

/** Let's Encrypt's production ACME directory: certificates every client trusts. */
export const LETS_ENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory";
/** Let's Encrypt's staging directory: untrusted certificates, generous rate limits; try here first. */
export const LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory";

/** A DNS name for an ACME certificate: lowercase labels, `*.` in front only for dns-01. */
export const ACME_DOMAIN_PATTERN =
  /^(?=.{1,253}$)(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** `[intermediate.acme]`: certificates from an ACME CA (Let's Encrypt), renewed automatically. */
export const AcmeSection = z.strictObject({
  /** Obtain and renew the relay certificate by ACME; then `cert` and `key` must be absent. */
  enabled: z.boolean().default(false),
  /** The CA's directory; ACME runs over HTTPS only. */
  directory_url: z.string().refine((url) => URL.parse(url)?.protocol === "https:", {
    message: "expected an https:// URL of an ACME directory",
  }).default(LETS_ENCRYPT_PRODUCTION),
  /** Contact address registered with the account (expiry and policy notices). */
  email: z.email("expected an e-mail address").optional(),
  /** Names the certificate covers; peers must dial one of them (server_name). */
  domains: z.array(
    z.string().regex(
      ACME_DOMAIN_PATTERN,
      "expected a lowercase DNS name such as relay.example.com (*.example.com with dns-01)",
    ),
  ).max(100).default([]),
  challenge: z.enum(["http-01", "dns-01"]).default("http-01"),
  /** Where the HTTP-01 challenge listener binds while an order is validated. */
  http_listen: HostPort.default("0.0.0.0:80"),
  /** Executable run as `<hook> present|cleanup <domain> <record name> <value>` for dns-01. */
  dns_hook: FilePath.optional(),
  dns_hook_timeout_ms: Millis(3_600_000).default(120_000),
  /** Extra PEM roots trusted for the CA's HTTPS endpoint (a test CA); public roots stay trusted. */
  ca_bundle: FilePath.optional(),
  /** Renew when this fraction of the certificate's lifetime remains (a third by default). */
  renew_before_fraction: z.number().gt(0).lt(1).default(1 / 3),
  /** Failed issuance or renewal: first retry delay, doubling with jitter up to retry_max_ms. */
  retry_min_ms: Millis(86_400_000).default(300_000),
  retry_max_ms: Millis(86_400_000).default(21_600_000),
}).superRefine((acme, ctx) => {
  if (!acme.enabled) return;
  const issue = (path: string, input: unknown, message: string) =>
    ctx.addIssue({ code: "custom", path: [path], input, message });
  if (acme.domains.length === 0) {
    issue("domains", acme.domains, "expected at least one domain when enabled = true");
  }
  const seen = new Set<string>();
  for (const domain of acme.domains) {
    if (seen.has(domain)) issue("domains", domain, `duplicate domain ${JSON.stringify(domain)}`);
    seen.add(domain);
    if (domain.startsWith("*.") && acme.challenge !== "dns-01") {
      issue("challenge", acme.challenge, `expected "dns-01" for the wildcard ${domain}`);
    }
  }
  if (acme.challenge === "dns-01" && acme.dns_hook === undefined) {
    issue("dns_hook", undefined, 'missing required key (challenge = "dns-01" runs it)');
  }
  if (acme.retry_min_ms > acme.retry_max_ms) {
    issue(
      "retry_min_ms",
      acme.retry_min_ms,
      `expected at most retry_max_ms (${acme.retry_max_ms}), got ${acme.retry_min_ms}`,
    );
  }
});

/** Longest lifetime of a token the relay issues after a login: people refresh, machines do not log in. */
export const MAX_LOGIN_TOKEN_TTL_MS = 3_600_000;

/**
 * `[intermediate.oidc]`: single sign-on for people. The relay verifies an OpenID Connect ID token
 * (issuer, audience, signature by the provider's JWKS, expiry) and answers with a short-lived ztna
 * token for that person and the groups the provider names.
 */
export const OidcSection = z.strictObject({
  /** The provider's issuer URL, exactly as its ID tokens' `iss` (discovery is read under it). */
  issuer: HttpsUrl,
  /** The OAuth client id `ztna login` uses at the provider. */
  client_id: z.string().min(1).max(256),
  /** The `aud` an ID token must carry; defaults to client_id. */
  audience: z.string().min(1).max(256).optional(),
  /** The ID token claim that lists the person's groups. */
  groups_claim: z.string().min(1).max(128).default("groups"),
  /** Scopes the client asks for; `openid` is always included. */
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/)).max(32)
    .default(["openid", "offline_access", "groups"]),
  /** Lifetime of the ztna token issued at login and refresh. */
  token_ttl_ms: z.number().int().min(10_000).max(MAX_LOGIN_TOKEN_TTL_MS).default(900_000),
  /** An ID token older than this (its `iat`) is refused even before its `exp`. */
  max_id_token_age_ms: Millis(86_400_000).default(600_000),
  /** Services the issued token grants; the access policy decides within them. */
  services: z.array(z.string().min(1)).min(1).max(256).default(["*"]),
  /** PEM bundle of CAs trusted for the provider's HTTPS on top of the system roots. */
  ca: FilePath.optional(),
  /** Ed25519 key that signs issued tokens; defaults to [intermediate.admin] token_signing_key. */
  signing_key: FilePath.optional(),
});

/**
 * `postgres://user@host:port/database`: no password (it belongs in password_file or
 * ZTNA_DB_PASSWORD, never in the TOML) and no `?options` (sslmode=disable among them).
 */
const PostgresUrl = z.string().superRefine((value, ctx) => {
  const url = URL.parse(value);
  const problem = url === null || (url.protocol !== "postgres:" && url.protocol !== "postgresql:")
    ? "expected postgres://user@host:port/database"
    : url.password !== ""
    ? "expected no password in the URL: put it in password_file or ZTNA_DB_PASSWORD"
    : url.search !== ""
    ? "expected no ?options: TLS is always on and verified"
    : url.username === "" || url.hostname === "" || url.pathname.length < 2
    ? "expected a user, a host and a database: postgres://user@host:port/database"
    : undefined;
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

/**
 * `[intermediate.store]`: where the relay keeps credentials, revocations, admin tokens and the
 * audit log. `kv` (default): Deno KV under state_dir, one relay. `postgres`: a shared database.
 */
export const StoreSection = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("kv") }),
  z.strictObject({
    kind: z.literal("postgres"),
    url: PostgresUrl,
    /** File holding the database password; ZTNA_DB_PASSWORD overrides it. */
    password_file: FilePath.optional(),
    /** PEM bundle of CAs trusted for the database's certificate, instead of the system roots. */
    ca: FilePath.optional(),
    /**
     * How long the relay keeps admitting peers on its cached revocations while the database is
     * unreachable; past it new HELLOs are refused `state_unavailable` (fail closed).
     */
    max_staleness_ms: Millis(86_400_000).default(30_000),
  }),
]);
export type StoreConfig = z.output<typeof StoreSection>;
/** `[intermediate.store]` with kind = "postgres". */
export type PostgresStoreConfig = Extract<StoreConfig, { kind: "postgres" }>;

/** One address of `[intermediate.fleet] advertise`: `"host:port"` or `{ address, server_name }`. */
const Advertised = z.union([
  HostPort.transform((address) => ({ address })),
  z.strictObject({
    address: HostPort,
    /** TLS name peers check, when the address is an IP or another name than the certificate's. */
    server_name: z.string().min(1).max(253).regex(/^[A-Za-z0-9.-]+$/).optional(),
  }),
]);

/**
 * `[intermediate.fleet]`: this relay's row in the store's fleet table (every store has one; only a
 * shared store, PostgreSQL, holds other relays) and what its peers learn from it.
 */
export const FleetSection = z.strictObject({
  /** Where peers can dial this relay; empty: listed in the admin view, never sent to peers. */
  advertise: z.array(Advertised).max(8).default([]),
  /** How often the relay writes its heartbeat and reads the fleet. */
  heartbeat_ms: Millis(60_000).default(2_000),
  /** A relay whose heartbeat is older than this is dead: no longer sent to peers, then pruned. */
  expiry_ms: Millis(600_000).default(10_000),
}).superRefine((fleet, ctx) => {
  if (fleet.expiry_ms < 2 * fleet.heartbeat_ms) {
    ctx.addIssue({
      code: "custom",
      path: ["expiry_ms"],
      input: fleet.expiry_ms,
      message: `expected at least twice heartbeat_ms (${fleet.heartbeat_ms}), got ` +
        `${fleet.expiry_ms}: one late heartbeat would declare a live relay dead`,
    });
  }
});
export type FleetConfig = z.output<typeof FleetSection>;

/** `[intermediate]`: the public relay. */
export const IntermediateSection = z.strictObject({
  listen: HostPort.default("0.0.0.0:4433"),
  /** Certificate chain file; required unless `[intermediate.acme]` is enabled. */
  cert: FilePath.optional(),
  /** Private key file of `cert`; required unless `[intermediate.acme]` is enabled. */
  key: FilePath.optional(),
  token_public_keys: z.array(FilePath).min(1, "expected at least one public key file"),
  revocation_file: FilePath.optional(),
  revocation_poll_ms: Millis(3_600_000).default(2_000),
  /**
   * Access policy (TOML: groups, allow and deny rules, tests); without it token grants alone
   * decide. Re-read on SIGHUP and when it changes; a file whose tests fail is refused and the
   * policy in force stays.
   */
  policy_file: FilePath.optional(),
  /** How often policy_file is checked for changes. */
  policy_poll_ms: Millis(3_600_000).default(1_000),
  /** Upper bound of a connection's idle timeout; QUIC uses the smaller of both sides' values. */
  idle_timeout_ms: Millis(600_000).default(3_000),
  /**
   * TLS-over-TCP listener (ALPN ztna-tcp/1) for peers whose network blocks UDP: "host:port", or
   * "off". Default: the same host and port as `listen` (443/udp and 443/tcp together).
   */
  tcp_listen: z.union([z.literal("off"), HostPort]).optional(),
  drain_timeout_ms: z.number().int().min(0).max(600_000).default(5_000),
  state_dir: z.string().min(1).default("state"),
  store: StoreSection.default({ kind: "kv" }),
  fleet: FleetSection.default(FleetSection.parse({})),
  limits: RelayLimits.default(RelayLimits.parse({})),
  admin: AdminSection.default(AdminSection.parse({})),
  acme: AcmeSection.default(AcmeSection.parse({})),
  oidc: OidcSection.optional(),
}).superRefine((section, ctx) => {
  // Runs even when other keys have errors, so a missing cert is reported with them.
  const acme: unknown = section.acme;
  const acmeOn = typeof acme === "object" && acme !== null && "enabled" in acme &&
    acme.enabled === true;
  for (const key of ["cert", "key"] as const) {
    const value: unknown = section[key];
    if (!acmeOn && value === undefined) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        input: undefined,
        message: "missing required key (give cert and key, or enable [intermediate.acme])",
      });
    } else if (acmeOn && value !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: "expected no cert and key with [intermediate.acme] enabled = true: the relay " +
          "serves the certificate it obtains; remove them or set acme.enabled = false",
      });
    }
  }
}, { when: (payload) => typeof payload.value === "object" && payload.value !== null });
