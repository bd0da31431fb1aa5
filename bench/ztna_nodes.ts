/**
 * ztna processes as the bench runs them: `main.ts` with the shipped permission set (`-P=ztna`), a
 * relay whose limits the bench sets (and that can run under `--cpu-prof`), and client configs
 * written ahead of a spawn so the time to first byte starts at the spawn itself. Connector and the
 * long-lived client come from the e2e fixture (tests/_helpers/cluster.ts) unchanged.
 *
 * Limits are written only when this build's config schema knows them, so the bench keeps working
 * while limits are added or renamed.
 * @module
 */
import { IntermediateSection, RelayLimits } from "../src/config/schema.ts";
import type { Fixture } from "../tests/_helpers/cluster.ts";
import { denoScript, type HelperProcess } from "./helper_process.ts";
import { RELAY_ENV } from "../src/relay/memory_tuning.ts";

export { RELAY_ENV };

/** Readiness line of a relay. */
const RELAY_READY = /Relay listening on/;

/** A relay's start-up on a busy 2-core machine (Deno start, config, KV store). */
const READY_TIMEOUT_MS = 30_000;

/**
 * Limits no bench load should hit: a capacity figure must measure the relay, not its rate limits
 * (every connection of the bench comes from 127.0.0.1 and one identity). The shipped defaults are
 * reported beside the results (see {@link shippedLimits}).
 */
export const UNLIMITED: Readonly<Record<string, number>> = {
  max_connections: 100_000,
  max_connections_per_identity: 100_000,
  handshakes_per_second: 1_000_000,
  handshakes_per_second_per_source: 1_000_000,
  handshake_burst_per_source: 1_000_000,
  flow_opens_per_second_per_identity: 1_000_000,
  flow_open_burst_per_identity: 1_000_000,
};

/** The subset of `limits` this build's `[intermediate.limits]` schema knows. */
export function knownLimits(limits: Readonly<Record<string, number>>): Record<string, number> {
  const known = new Set(Object.keys(RelayLimits.shape));
  return Object.fromEntries(Object.entries(limits).filter(([k]) => known.has(k)));
}

/** The relay's default limits, for the report. */
export function shippedLimits(): Record<string, number> {
  const parsed: Record<string, unknown> = RelayLimits.parse({});
  return Object.fromEntries(
    Object.entries(parsed).filter((e): e is [string, number] => typeof e[1] === "number"),
  );
}

/** Options of {@link startRelay}. */
export interface RelayOptions {
  /** Name in logs, of its state folder and of its profile (`relay-<name>`). */
  name: string;
  port: number;
  /** `[intermediate.limits]` keys; unknown ones are dropped. */
  limits: Readonly<Record<string, number>>;
  /** Relay idle timeout; dialers keep-alive below it. */
  idleTimeoutMs: number;
  /** Write a V8 CPU profile into this folder when the relay exits. */
  cpuProfDir?: string;
  /** More `[intermediate.admin]` keys, e.g. `metrics_public = true`. */
  admin?: string;
  /**
   * Run with the allocator tuning `deno task relay` sets (src/relay/memory_tuning.ts), as shipped.
   * @default {true}
   */
  tuned?: boolean;
  /** Command prefix that execs deno, e.g. a network namespace's (bench/netns.ts). */
  wrapper?: string[];
  /** Environment over the tuning's (e.g. `DENO_V8_FLAGS` with `--trace-gc`). */
  env?: Record<string, string>;
}

/** Starts `main.ts --role=intermediate` with a config written into the fixture's folder. */
export async function startRelay(fx: Fixture, options: RelayOptions): Promise<HelperProcess> {
  const limits = Object.entries(knownLimits(options.limits)).map(([k, v]) => `${k} = ${v}`);
  const shape: Record<string, unknown> = IntermediateSection.shape;
  // A relay of this build has an admin endpoint: on a free port, so two relays never collide.
  const admin = "admin" in shape
    ? `[intermediate.admin]\nlisten = "127.0.0.1:0"\n${options.admin ?? ""}\n`
    : "";
  const path = await fx.config(`
[intermediate]
listen = "127.0.0.1:${options.port}"
cert = "${fx.pki.certPath}"
key = "${fx.pki.keyPath}"
token_public_keys = ["${fx.signing.publicPath}"]
idle_timeout_ms = ${options.idleTimeoutMs}
drain_timeout_ms = 1000
state_dir = "${fx.dir}/state-${options.name}"
[intermediate.limits]
${limits.join("\n")}
${admin}`);
  const relay = await spawnZtna("intermediate", path, {
    name: `relay-${options.name}`,
    cpuProfDir: options.cpuProfDir,
    env: { ...(options.tuned === false ? {} : RELAY_ENV), ...options.env },
    ...(options.wrapper ? { wrapper: options.wrapper } : {}),
  });
  try {
    await relay.waitFor(RELAY_READY, READY_TIMEOUT_MS);
  } catch (e) {
    await relay.stop();
    throw e;
  }
  return relay;
}

/** Base URL of a relay's admin endpoint (`http://127.0.0.1:<port>`), from its log. */
export async function adminUrl(relay: HelperProcess): Promise<string> {
  return (await relay.waitFor(/Admin endpoint listening on "?(https?:\/\/[^"\s]+)/))[1];
}

/** Options of {@link spawnZtna}. */
export interface SpawnOptions {
  /** Process name in errors, and the profile's file name (`<name>.cpuprofile`). */
  name: string;
  /** Write a V8 CPU profile into this folder when the process exits. */
  cpuProfDir?: string;
  /** More environment variables, e.g. the relay's GLIBC_TUNABLES. */
  env?: Record<string, string>;
  /** Command prefix that execs deno (bench/netns.ts). */
  wrapper?: string[];
}

/** Spawns `main.ts --role=<role> --config <path>` with `-P=ztna`; does not wait. */
export async function spawnZtna(
  role: "intermediate" | "connector" | "client",
  configPath: string,
  options: SpawnOptions,
): Promise<HelperProcess> {
  const flags = ["-P=ztna"];
  if (options.cpuProfDir) {
    await Deno.mkdir(options.cpuProfDir, { recursive: true });
    flags.push(
      "--cpu-prof",
      `--cpu-prof-dir=${options.cpuProfDir}`,
      `--cpu-prof-name=${options.name}.cpuprofile`,
    );
  }
  return denoScript("main.ts", [`--role=${role}`, "--config", configPath], {
    name: options.name,
    flags,
    ...(options.env ? { env: options.env } : {}),
    ...(options.wrapper ? { wrapper: options.wrapper } : {}),
  });
}

/** A connector service: backend and protocols. */
export interface ServiceSpec {
  backend: string;
  protocol: "tcp" | "udp";
}

/** The `[connector]` or `[client]` keys every bench dialer shares: the relay, trust and timers. */
function dialerSection(
  fx: Fixture,
  role: "connector" | "client",
  relayPort: number,
  tokenPath: string,
): string {
  return `
[${role}]
relays = [{ address = "127.0.0.1:${relayPort}", server_name = "localhost" }]
ca = "${fx.pki.caCertPath}"
token_file = "${tokenPath}"
keepalive_ms = 1000
idle_timeout_ms = 5000
reconnect_min_ms = 200
reconnect_max_ms = 2000`;
}

/**
 * Writes a connector config serving `services` through the relay on `relayPort`; `extra` adds
 * `[connector]` keys (e.g. `direct = true`).
 */
export function connectorConfig(
  fx: Fixture,
  relayPort: number,
  services: Record<string, ServiceSpec>,
  tokenPath: string,
  extra = "",
): Promise<string> {
  const svc = Object.entries(services).map(([id, s]) =>
    `[[connector.service]]\nid = "${id}"\nbackend = "${s.backend}"\nprotocol = "${s.protocol}"\n`
  ).join("\n");
  return fx.config(`${dialerSection(fx, "connector", relayPort, tokenPath)}
${extra}
${svc}`);
}

/**
 * Writes a client config forwarding `forwards` (listen → `service` or `service@udp`); `extra` adds
 * `[client]` keys (e.g. `direct = false`).
 */
export function clientConfig(
  fx: Fixture,
  relayPort: number,
  forwards: Record<string, string>,
  tokenPath: string,
  extra = "",
): Promise<string> {
  const fw = Object.entries(forwards).map(([listen, spec]) => {
    const [service, protocol = "tcp"] = spec.split("@");
    return `[[client.forward]]\nlisten = "${listen}"\nservice = "${service}"\nprotocol = "${protocol}"\n`;
  }).join("\n");
  return fx.config(`${dialerSection(fx, "client", relayPort, tokenPath)}
${extra}
${fw}`);
}

/** Spawns `main.ts --role=client` with a config from {@link clientConfig}; does not wait. */
export function spawnClient(configPath: string, name: string): Promise<HelperProcess> {
  return spawnZtna("client", configPath, { name });
}
