/**
 * The intermediate role: loads TLS material and token keys, runs the relay until stopped, reloads
 * certificates, keys and revocations on SIGHUP.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { importPublicKeys, TokenVerifier } from "../auth/mod.ts";
import type { RunContext } from "../cli/run_context.ts";
import type { IntermediateConfig } from "../config/schema.ts";
import { Relay, type TlsMaterial } from "./relay.ts";
import { RevocationWatcher } from "./revocation_watcher.ts";

export { Relay } from "./relay.ts";
export { ConnectorRegistry } from "./registry.ts";

const log = getLogger(["ztna", "relay"]);

async function readTls(config: IntermediateConfig): Promise<TlsMaterial> {
  return { cert: await Deno.readTextFile(config.cert), key: await Deno.readTextFile(config.key) };
}

async function readKeys(config: IntermediateConfig) {
  const sources = await Promise.all(
    config.token_public_keys.map(async (path) => ({ path, pem: await Deno.readTextFile(path) })),
  );
  return importPublicKeys(sources);
}

/** Runs the relay until `ctx.signal` aborts, then drains and closes. */
export async function runIntermediate(config: IntermediateConfig, ctx: RunContext): Promise<void> {
  const verifier = new TokenVerifier(await readKeys(config));
  const relay = new Relay(config, verifier);
  const watcher = config.revocation_file
    ? new RevocationWatcher({
      path: config.revocation_file,
      pollMs: config.revocation_poll_ms,
      apply: (ids) => {
        verifier.setRevoked(ids);
        relay.enforceRevocations();
      },
    })
    : undefined;
  await watcher?.start();
  relay.start(await readTls(config));
  ctx.onReload(async () => {
    try {
      relay.reloadTls(await readTls(config));
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
  });
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  watcher?.stop();
  await relay.shutdown(config.drain_timeout_ms);
}
