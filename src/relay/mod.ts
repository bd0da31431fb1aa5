/**
 * The intermediate role: runs the relay and the parts around it until stopped. The runner reads
 * as the list of its parts in start-up order, each put on one AsyncDisposableStack as it starts,
 * so teardown is the reverse of start-up: the state folder and store (store_open.ts), single
 * sign-on (login_start.ts), the Relay, the revocation sources (relay_revocations.ts), the policy
 * watcher, the certificate (relay_certificates.ts: files or ACME), the listeners, the fleet
 * (relay_fleet.ts), the audit retention and the admin endpoint (relay_admin.ts), and SIGHUP
 * (relay_reload.ts).
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { AcmeTestHooks } from "../acme/mod.ts";
import type { AdminEndpoint } from "../admin/mod.ts";
import { TokenVerifier } from "../auth/mod.ts";
import type { IntermediateConfig } from "../config/schema.ts";
import type { RunContext } from "../runtime/run_context.ts";
import type { Store } from "../store/mod.ts";
import type { LoginExchange } from "./login_exchange.ts";
import { startLogin } from "./login_start.ts";
import { memoryTuningHint } from "./memory_tuning.ts";
import { PolicyAudit } from "./policy_audit.ts";
import { PolicyWatcher } from "./policy_watcher.ts";
import { Relay, type TlsMaterial } from "./relay.ts";
import { auditRetention, startAdmin } from "./relay_admin.ts";
import { RelayCertificates } from "./relay_certificates.ts";
import { joinFleet } from "./relay_fleet.ts";
import { readKeys, reloadRelay } from "./relay_reload.ts";
import { RelayRevocations } from "./relay_revocations.ts";
import { claimStateDir } from "./state_dir.ts";
import { openStore } from "./store_open.ts";

export { Relay } from "./relay.ts";
export { ConnectorRegistry } from "./registry.ts";

const log = getLogger(["ztna", "relay"]);

/** Options of {@link runIntermediate} beyond the config; main.ts passes none. */
export interface IntermediateOptions {
  /** Pause points for crash tests; only test builds (tests/_builds/) set them. */
  acmeTestHooks?: AcmeTestHooks;
  /** Log the memory-settings hint when they are missing. The demo turns it off. @default {true} */
  memoryHint?: boolean;
}

/** GLIBC_TUNABLES, or undefined when unset or not readable under the permissions given. */
function readTunables(): string | undefined {
  try {
    return Deno.env.get("GLIBC_TUNABLES");
  } catch {
    return undefined;
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

/** Puts `owner` on `stack`, then starts it: a start that fails is torn down with the rest. */
async function started<T extends { start(): Promise<unknown>; stop(): unknown }>(
  stack: AsyncDisposableStack,
  owner: T,
): Promise<T> {
  stack.defer(async () => {
    await owner.stop();
  });
  await owner.start();
  return owner;
}

/** The Relay, refusals its policy decided going to the store's audit log. */
function buildRelay(
  config: IntermediateConfig,
  verifier: TokenVerifier,
  store: Store,
  login: LoginExchange | undefined,
): Relay {
  const policyAudit = new PolicyAudit(store);
  return new Relay(config, {
    verifier,
    audit: (event) => policyAudit.record(event),
    ...(login ? { login: (idToken, sameSubject) => login.exchange(idToken, sameSubject) } : {}),
  });
}

/** Binds the relay's listeners (QUIC, then TCP), a failed QUIC bind worded with its fix. */
function listen(relay: Relay, tls: TlsMaterial, config: IntermediateConfig): void {
  try {
    relay.start(tls);
  } catch (error) {
    throw bindError(error, config.listen);
  }
}

/** Resolves when `signal` aborts (at once when it has). */
function stopped(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
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
  const login = config.oidc ? await startLogin(config, verifier) : undefined;
  if (login) stack.defer(() => login.close());
  const relay = buildRelay(config, verifier, store, login);
  // Torn down last but for the store: a failed start-up closes at once (the stop drains first).
  stack.defer(() => relay.shutdown(0));
  const revocations = new RelayRevocations(config, { store, verifier, relay });
  // Loaded before the relay listens: no peer is ever decided without the operator's policy.
  const policy = config.policy_file
    ? await started(
      stack,
      new PolicyWatcher({
        path: config.policy_file,
        pollMs: config.policy_poll_ms,
        apply: (loaded) => relay.setPolicy(loaded),
      }),
    )
    : undefined;
  let admin: AdminEndpoint | undefined;
  const certificates = await RelayCertificates.load(config, {
    relay,
    store,
    onRenewed: (tls) => admin?.reload(tls),
    ...(options.acmeTestHooks ? { acmeTestHooks: options.acmeTestHooks } : {}),
  });
  stack.defer(() => certificates.stop());
  // Undefined when stopped while waiting for the first certificate: a clean stop.
  if (await certificates.start(ctx.signal) === undefined) return;
  await started(stack, revocations);
  listen(relay, certificates.current, config);
  // The fleet: heartbeats, FLEET to peers, and the store's health (relay_fleet.ts).
  const fleet = await joinFleet({ config, store, relay, verifier, stack });
  const hint = options.memoryHint === false
    ? undefined
    : memoryTuningHint(Deno.build.os, readTunables());
  if (hint) log.info(hint);
  await started(stack, auditRetention(config, store, relay));
  if (config.admin.enabled) {
    const { current: tls } = certificates;
    const parts = { relay, revocations: revocations.sources, fleet, store, tls, verifier };
    const endpoint = admin = await startAdmin(config, parts);
    stack.defer(() => endpoint.shutdown());
  }
  const reloadable = { config, certificates, verifier, revocations, policy, admin };
  ctx.onReload(() => reloadRelay(reloadable));
  await stopped(ctx.signal);
  // Peers move first: the fleet stops advertising this relay and its own peers hear DRAIN, so
  // new flows go elsewhere while the running ones finish.
  await fleet.movePeers();
  // Drained while everything else still runs: the admin endpoint's /readyz reports "draining".
  await relay.shutdown(config.drain_timeout_ms);
}
