/**
 * Resolves the relative paths of a role's section against the config file's folder, so a config
 * works the same whatever folder ztna is started from.
 * Pure: no I/O (path arithmetic only).
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { isInlinePem } from "./files.ts";
import type { ClientConfig, ConnectorConfig, IntermediateConfig } from "./schema.ts";

/** `path` made absolute against `base` (the config file's folder); absolute paths stay as they are. */
export function resolveAgainst(base: string, path: string): string {
  return isAbsolute(path) ? path : resolve(base, path);
}

/** cert, key, token_public_keys, revocation_file, state_dir, the admin and ACME files made absolute. */
export function resolveIntermediatePaths(
  config: IntermediateConfig,
  base: string,
): IntermediateConfig {
  return {
    ...config,
    ...(config.cert === undefined ? {} : { cert: resolveAgainst(base, config.cert) }),
    ...(config.key === undefined ? {} : { key: resolveAgainst(base, config.key) }),
    token_public_keys: config.token_public_keys.map((p) => resolveAgainst(base, p)),
    state_dir: resolveAgainst(base, config.state_dir),
    store: config.store.kind === "kv" ? config.store : {
      ...config.store,
      ...(config.store.password_file === undefined
        ? {}
        : { password_file: resolveAgainst(base, config.store.password_file) }),
      ...(config.store.ca === undefined ? {} : { ca: resolveAgainst(base, config.store.ca) }),
    },
    admin: {
      ...config.admin,
      ...(config.admin.token_hashes_file === undefined
        ? {}
        : { token_hashes_file: resolveAgainst(base, config.admin.token_hashes_file) }),
      ...(config.admin.token_signing_key === undefined
        ? {}
        : { token_signing_key: resolveAgainst(base, config.admin.token_signing_key) }),
    },
    ...(config.revocation_file === undefined
      ? {}
      : { revocation_file: resolveAgainst(base, config.revocation_file) }),
    ...(config.policy_file === undefined
      ? {}
      : { policy_file: resolveAgainst(base, config.policy_file) }),
    acme: {
      ...config.acme,
      ...(config.acme.dns_hook === undefined
        ? {}
        : { dns_hook: resolveAgainst(base, config.acme.dns_hook) }),
      ...(config.acme.ca_bundle === undefined
        ? {}
        : { ca_bundle: resolveAgainst(base, config.acme.ca_bundle) }),
    },
  };
}

/** ca, token_file and proxy_credentials_file made absolute (connector and client share them). */
export function resolveDialerPaths<T extends ConnectorConfig | ClientConfig>(
  config: T,
  base: string,
): T {
  return {
    ...config,
    ...(config.ca === undefined || isInlinePem(config.ca)
      ? {}
      : { ca: resolveAgainst(base, config.ca) }),
    ...(config.token_file === undefined
      ? {}
      : { token_file: resolveAgainst(base, config.token_file) }),
    ...(config.proxy_credentials_file === undefined
      ? {}
      : { proxy_credentials_file: resolveAgainst(base, config.proxy_credentials_file) }),
  };
}
