/**
 * The intermediate role: loads TLS material and token keys, opens the state store, runs the relay
 * and its admin endpoint until stopped, reloads certificates, keys, revocations and admin tokens
 * on SIGHUP. Revocations come from the revocation file and the store (admin API; with PostgreSQL
 * also those made on the fleet's other relays, pushed by NOTIFY and polled) together. With
 * `[intermediate.acme]` the certificate comes from src/acme instead of files, and each renewal is
 * put in service the way SIGHUP does it (new listener, same endpoint; admin endpoint reloaded).
 * @module
 */
import { getLogger } from "@logtape/logtape";
// Types only: the ACME module (and the npm ACME client behind it, ~25 MiB of heap) is loaded only
// when [intermediate.acme] is enabled.
import type { AcmeTestHooks, CertificateManager } from "../acme/mod.ts";
import { importPrivateKey, importPublicKeys, TokenVerifier } from "../auth/mod.ts";
import { readCaBundle } from "../config/files.ts";
import { LoginExchange } from "./login_exchange.ts";
import { memoryTuningHint } from "./memory_tuning.ts";
import type { RunContext } from "../runtime/run_context.ts";
import type { IntermediateConfig } from "../config/schema.ts";
import { join } from "node:path";
import { AdminEndpoint, AuditRetention, type MetricFamily, type RelayView } from "../admin/mod.ts";
import { describeFsError, formatHostPort } from "../config/mod.ts";
import {
  KV_FILE_NAME,
  openConfiguredPostgres,
  openKvStore,
  PostgresStore,
  type Store,
} from "../store/mod.ts";
import type { PeerSession } from "./peer_session.ts";
import { Relay, type TlsMaterial } from "./relay.ts";
import { relayMetricFamilies } from "./relay_metrics.ts";
import { RevocationSources, RevocationWatcher } from "./revocation_watcher.ts";
import { PolicyWatcher } from "./policy_watcher.ts";
import { PolicyAudit } from "./policy_audit.ts";
import { linkTransport } from "../transport/mod.ts";
import { claimStateDir } from "./state_dir.ts";
import type { FleetMember } from "./fleet_membership.ts";
import { joinFleet } from "./relay_fleet.ts";
import { FileRevocationsToStore } from "./file_revocations_to_store.ts";

export { Relay } from "./relay.ts";
export { ConnectorRegistry } from "./registry.ts";

const log = getLogger(["ztna", "relay"]);

async function readTls(config: IntermediateConfig): Promise<TlsMaterial> {
  if (config.cert === undefined || config.key === undefined) {
    // The schema requires both unless ACME is enabled, and then this is never called.
    throw new Error("Cannot read the relay certificate: intermediate.cert and key are not set");
  }
  return { cert: await Deno.readTextFile(config.cert), key: await Deno.readTextFile(config.key) };
}

/**
 * Single sign-on: the key that signs tokens after a login must be one the relay itself accepts
 * (else every login would be welcomed with a token the next connection refuses).
 * @throws {Error} when the key is not among token_public_keys, or the provider cannot be read
 */
async function startLogin(config: IntermediateConfig, verifier: TokenVerifier) {
  const oidc = config.oidc!;
  // The config loader already required one of the two (src/config/load.ts).
  const keyPath = oidc.signing_key ?? config.admin.token_signing_key!;
  const signer = await importPrivateKey(await Deno.readTextFile(keyPath), keyPath);
  if (!verifier.keyIds.includes(signer.kid)) {
    throw new Error(
      `Cannot sign tokens after a login with ${keyPath}: its public key is not in ` +
        "intermediate.token_public_keys, so the relay would refuse the tokens it issues",
    );
  }
  const login = new LoginExchange(oidc, signer, {
    ...(oidc.ca ? { caCerts: [await readCaBundle(oidc.ca)] } : {}),
  });
  try {
    await login.start();
  } catch (error) {
    login.close();
    throw error;
  }
  return login;
}

/** Options of {@link runIntermediate} beyond the config; main.ts passes none. */
export interface IntermediateOptions {
  /** Pause points for crash tests; only test builds (tests/_builds/) set them. */
  acmeTestHooks?: AcmeTestHooks;
  /** Log the memory-settings hint when they are missing. The demo turns it off. @default {true} */
  memoryHint?: boolean;
}

async function readKeys(config: IntermediateConfig) {
  const sources = await Promise.all(
    config.token_public_keys.map(async (path) => ({ path, pem: await Deno.readTextFile(path) })),
  );
  return importPublicKeys(sources);
}

/** GLIBC_TUNABLES, or undefined when unset or not readable under the permissions given. */
function readTunables(): string | undefined {
  try {
    return Deno.env.get("GLIBC_TUNABLES");
  } catch {
    return undefined;
  }
}

/**
 * Opens the state store: Deno KV under `state_dir` (claimed by {@link claimStateDir} first), or
 * the PostgreSQL database of `[intermediate.store]`, its password from ZTNA_DB_PASSWORD or
 * password_file (the loader checked that one of them is there).
 */
async function openStore(config: IntermediateConfig): Promise<Store> {
  const store = config.store;
  if (store.kind === "postgres") return await openConfiguredPostgres(store);
  const path = join(config.state_dir, KV_FILE_NAME);
  try {
    return await openKvStore(path);
  } catch (error) {
    const { reason } = describeFsError(error, "write");
    throw new Error(
      `Cannot open the state store ${path}: ${reason}; set intermediate.state_dir to a writable folder`,
      { cause: error },
    );
  }
}

/** A failed bind of the QUIC port, reworded to name the address and the fix. */
function bindError(error: unknown, listen: string): unknown {
  if (error instanceof Deno.errors.AddrInUse) {
    return new Error(
      `Cannot listen on UDP ${listen} (intermediate.listen): address in use; another relay (or ` +
        "another program) already listens there: stop it, or set intermediate.listen to a free port",
      { cause: error },
    );
  }
  if (
    error instanceof Deno.errors.AddrNotAvailable || error instanceof Deno.errors.PermissionDenied
  ) {
    return new Error(
      `Cannot listen on UDP ${listen} (intermediate.listen): ${
        error.message.split(" (os error")[0]
      }` +
        "; use an address of this host (0.0.0.0 for all) and a port above 1023 unless the " +
        "binary has CAP_NET_BIND_SERVICE",
      { cause: error },
    );
  }
  return error;
}

/** The admin endpoint's view of the relay (src/admin knows the relay only through this). */
function adminView(
  relay: Relay,
  revocations: RevocationSources,
  fleet: { metrics: () => MetricFamily[]; members: () => FleetMember[] },
): RelayView {
  /** Services served at some point since start: shown "down" when their pool empties. */
  const seen = new Set<string>();
  const remote = (s: PeerSession) => {
    try {
      return formatHostPort(s.conn.remoteAddr);
    } catch {
      return "?";
    }
  };
  return {
    connections: () =>
      [...relay.sessions].map((s) => ({
        connId: s.connId,
        identity: s.identity,
        role: s.role ?? "pending",
        remote: remote(s),
        services: [...s.services],
        path: [...s.paths.values()].includes("direct") ? "direct" as const : "relay" as const,
        transport: linkTransport(s.conn),
        bytesIn: s.bytesFromPeer,
        bytesOut: s.bytesToPeer,
        activeFlows: s.activeFlows,
        since: s.connectedAt,
        ...(s.tokenId === undefined ? {} : { tokenId: s.tokenId }),
      })),
    services: () => {
      for (const service of relay.registry.services()) seen.add(service);
      return [...seen].sort().map((service) => {
        const members = relay.registry.members(service).map((m) => ({
          connId: m.connId,
          identity: m.identity,
          activeFlows: m.activeFlows,
        }));
        return { service, health: members.length > 0 ? "up" as const : "down" as const, members };
      });
    },
    refusals: (limit) => relay.refusals.recent(limit),
    refusalsTotal: () => relay.refusals.total,
    activeFlows: () => relay.metrics.activeFlows,
    kick: (connId) => {
      const session = [...relay.sessions].find((s) => s.connId === connId);
      return session !== undefined && relay.kick(connId)
        ? { identity: session.identity }
        : undefined;
    },
    revoke: (tokenId) => revocations.addStored([tokenId]),
    metricFamilies: () => [...relayMetricFamilies(relay.metrics), ...fleet.metrics()],
    fleet: () =>
      fleet.members().map((m) => ({
        relayId: m.relayId,
        addresses: m.addresses,
        state: m.state,
        health: m.health,
        heartbeatAgeMs: m.heartbeatAgeMs,
        startedAt: m.startedAt,
        peers: m.peers,
        flows: m.flows,
        self: m.self,
      })),
    listening: () => relay.listening,
    draining: () => relay.draining,
  };
}

/**
 * Runs the relay until `ctx.signal` aborts, then drains and closes. Every part is put on one
 * AsyncDisposableStack as it starts, so a failure at any step, or the stop, tears down exactly what
 * started, in reverse order.
 */
export async function runIntermediate(
  config: IntermediateConfig,
  ctx: RunContext,
  options: IntermediateOptions = {},
): Promise<void> {
  await using stack = new AsyncDisposableStack();
  const verifier = new TokenVerifier(await readKeys(config));
  stack.use(await claimStateDir(config.state_dir));
  const store = await openStore(config);
  stack.defer(() => store.close());
  const policyAudit = new PolicyAudit(store);
  const login = config.oidc ? await startLogin(config, verifier) : undefined;
  if (login) stack.defer(() => login.close());
  const relay = new Relay(config, {
    verifier,
    audit: (event) => policyAudit.record(event),
    ...(login ? { login: (idToken, sameSubject) => login.exchange(idToken, sameSubject) } : {}),
  });
  // Torn down last but for the store: a failed start-up closes at once (the stop drains first).
  stack.defer(() => relay.shutdown(0));
  const revocations = new RevocationSources((ids) => {
    verifier.setRevoked(ids);
    return relay.enforceRevocations();
  });
  // In a fleet, the file's ids go into the shared store too, so every relay enforces them.
  const fileToStore = config.revocation_file && store instanceof PostgresStore
    ? new FileRevocationsToStore(store, { retryMs: config.revocation_poll_ms })
    : undefined;
  if (fileToStore) stack.defer(() => fileToStore.stop());
  const watcher = config.revocation_file
    ? new RevocationWatcher({
      path: config.revocation_file,
      pollMs: config.revocation_poll_ms,
      apply: (ids) => {
        revocations.setFile(ids);
        fileToStore?.publish(ids);
      },
    })
    : undefined;
  // Loaded before the relay listens: no peer is ever decided without the operator's policy.
  const policyWatcher = config.policy_file
    ? new PolicyWatcher({
      path: config.policy_file,
      pollMs: config.policy_poll_ms,
      apply: (policy) => relay.setPolicy(policy),
    })
    : undefined;
  if (policyWatcher) {
    stack.defer(() => policyWatcher.stop());
    await policyWatcher.start();
  }
  let admin: AdminEndpoint | undefined;
  const acmeModule = config.acme.enabled ? await import("../acme/mod.ts") : undefined;
  const acme: CertificateManager | undefined = acmeModule
    ? new acmeModule.CertificateManager(config.acme, {
      stateDir: config.state_dir,
      metrics: {
        renewals: relay.metrics.acmeRenewals.preset(["issue", "renew"]),
        failures: relay.metrics.acmeFailures.preset(acmeModule.ACME_ERROR_CODES),
      },
      onRenewed: async (pair) => {
        tls = { cert: pair.cert, key: pair.key };
        relay.reloadTls(tls);
        log.info("Serving the renewed ACME certificate {serial}", { serial: pair.info.serial });
        await admin?.reload(tls);
      },
      ...(options.acmeTestHooks ? { testHooks: options.acmeTestHooks } : {}),
      // A fleet on PostgreSQL shares one account and certificate; one relay orders at a time.
      ...(store instanceof PostgresStore ? { shared: store.acme } : {}),
    })
    : undefined;
  if (acme) stack.defer(() => acme.stop());
  let tls: TlsMaterial;
  try {
    tls = acme ? await acme.start(ctx.signal) : await readTls(config);
  } catch (error) {
    // Stopped while waiting for the first certificate: a clean stop, not a failure.
    if (acmeModule && error instanceof acmeModule.AcmeError && error.code === "aborted") return;
    throw error;
  }
  // Revocations made through the admin API survive restarts: they live in the store.
  revocations.addStored((await store.listRevocations()).map((r) => r.tokenId));
  // A shared store (PostgreSQL) also tells of revocations made on the fleet's other relays: they
  // close this relay's sessions and direct paths as a local revocation does.
  const storeWatch = new AbortController();
  stack.defer(() => storeWatch.abort());
  await store.watchRevocations((ids) => {
    log.info("The store reports {count} newly revoked token ids", { count: ids.length });
    revocations.addStored(ids);
  }, { pollMs: config.revocation_poll_ms, signal: storeWatch.signal });
  if (watcher) {
    stack.defer(() => watcher.stop());
    await watcher.start();
  }
  try {
    relay.start(tls);
  } catch (error) {
    throw bindError(error, config.listen);
  }
  // The fleet: heartbeats, FLEET to peers, and the store's health (relay_fleet.ts).
  const fleet = await joinFleet({ config, store, relay, verifier, stack });
  const hint = options.memoryHint === false
    ? undefined
    : memoryTuningHint(Deno.build.os, readTunables());
  if (hint) log.info(hint);
  const retention = new AuditRetention(
    store,
    config.admin.audit_retention_days,
    (n) => relay.metrics.auditPruned.inc("retention", n),
  );
  stack.defer(() => retention.stop());
  await retention.start();
  if (config.admin.enabled) {
    admin = await AdminEndpoint.start({
      config: config.admin,
      relay: adminView(relay, revocations, {
        metrics: () => fleet.metricFamilies(),
        members: () => fleet.members(),
      }),
      store,
      tls,
      acceptedKeyIds: verifier.keyIds,
    });
    const started = admin;
    stack.defer(() => started.shutdown());
  }
  ctx.onReload(async () => {
    try {
      // With ACME the current certificate is the manager's; SIGHUP puts it in service again.
      const pair = acme?.current;
      tls = pair ? { cert: pair.cert, key: pair.key } : await readTls(config);
      relay.reloadTls(tls);
    } catch (e) {
      log.error("Certificate reload failed, keeping the current one: {error}", {
        error: String(e),
      });
    }
    try {
      verifier.setKeys(await readKeys(config));
      log.info("Reloaded {count} token public keys", { count: config.token_public_keys.length });
    } catch (e) {
      log.error("Token key reload failed, keeping the current keys: {error}", { error: String(e) });
    }
    await watcher?.reload();
    await policyWatcher?.reload();
    await admin?.reload(tls);
  });
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  // Peers move first: the fleet stops advertising this relay and its own peers hear DRAIN, so
  // new flows go elsewhere while the running ones finish.
  await fleet.movePeers();
  // Drained while everything else still runs: the admin endpoint's /readyz reports "draining".
  await relay.shutdown(config.drain_timeout_ms);
}
