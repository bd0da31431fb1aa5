/**
 * SIGHUP on a running relay: the certificate, the token public keys, the revocation file, the
 * access policy and the admin endpoint, each reloaded on its own; a failure is logged and keeps
 * what is in service.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { importPublicKeys, type TokenVerifier } from "../auth/mod.ts";
import type { IntermediateConfig } from "../config/schema.ts";
import type { AdminEndpoint } from "../admin/mod.ts";
import type { PolicyWatcher } from "./policy_watcher.ts";
import type { RelayCertificates } from "./relay_certificates.ts";
import type { RelayRevocations } from "./relay_revocations.ts";

const log = getLogger(["ztna", "relay"]);

/** The token public keys of `token_public_keys`, read and imported. */
export async function readKeys(config: IntermediateConfig) {
  const sources = await Promise.all(
    config.token_public_keys.map(async (path) => ({ path, pem: await Deno.readTextFile(path) })),
  );
  return importPublicKeys(sources);
}

/** The parts SIGHUP reloads. */
export interface ReloadableParts {
  config: IntermediateConfig;
  certificates: RelayCertificates;
  verifier: TokenVerifier;
  revocations: RelayRevocations;
  policy: PolicyWatcher | undefined;
  admin: AdminEndpoint | undefined;
}

/** Reloads every part in turn; never throws for a part that fails to reload. */
export async function reloadRelay(parts: ReloadableParts): Promise<void> {
  const { config, certificates, verifier } = parts;
  try {
    await certificates.reload();
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
  await parts.revocations.reload();
  await parts.policy?.reload();
  await parts.admin?.reload(certificates.current);
}
