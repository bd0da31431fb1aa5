/**
 * Public surface of src/config: the zod schema and its types, loading a role's config from TOML,
 * the environment overrides, and the error every config mistake becomes.
 * @module
 */
export * from "./schema.ts";
export { formatHostPort, type HostPortValue, parseHostPort } from "../protocol/address.ts";
export { ConfigError, type ConfigErrorInit } from "./config_error.ts";
export { closestMatch, editDistance } from "./closest.ts";
export { applyLogEnv, type Env, ENV_VARS, envValue, type EnvVar } from "./env.ts";
export { type LoadedConfig, loadRoleConfig, parseConfigText, readConfigText } from "./load.ts";
export { isInlinePem, readCaBundle } from "./files.ts";
export { type ConnectConfig, type ConnectSources, loadConnectConfig } from "./connect.ts";
export { describeFsError, type FsAccess, type FsProblem, isFsError } from "./fs_errors.ts";
export {
  CONFIG_FOLDER,
  isUnder,
  PROJECT_FOLDER,
  READABLE_FOLDERS,
  READABLE_PATHS,
  STATE_FOLDER,
  WRITABLE_FOLDERS,
  WRITABLE_PATHS,
} from "./permission_set.ts";
