/**
 * The admin endpoint assembled from `[intermediate.admin]`: admin token hashes from the config, its
 * hash file and the store; the optional token signing key (its public half must be one the relay
 * accepts); certificate facts for /readyz and the expiry metric; the app and its HTTP server.
 * src/relay/mod.ts starts it after the relay listens, reloads it on SIGHUP and stops it on SIGTERM.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { importPrivateKey, type SigningKey } from "../auth/mod.ts";
import { type AdminConfig, ConfigError, parseHostPort } from "../config/mod.ts";
// Not pki/mod.ts: that pulls in the full X.509 library (~20 MiB of heap) for two dates.
import { readCertificateValidity } from "../pki/certificate_validity.ts";
import type { Store } from "../store/mod.ts";
import { AdminApp, type AdminAppOptions } from "./admin_app.ts";
import { AdminAuthenticator, parseTokenHashFile } from "./admin_auth.ts";
import type { AdminDeps } from "./admin_context.ts";
import { AdminServer, type AdminTls } from "./admin_server.ts";
import type { RelayView } from "./relay_view.ts";
import { refreshStoredAdminTokens } from "./tokens_api.ts";

const log = getLogger(["ztna", "admin"]);

/** Options of {@link AdminEndpoint.start}. */
export interface AdminEndpointOptions {
  /** `[intermediate.admin]`, paths absolute. */
  config: AdminConfig;
  relay: RelayView;
  store: Store;
  /** The relay's certificate and key: served when `config.tls`, and reported in /readyz. */
  tls: AdminTls;
  /** Key ids of the relay's token public keys: a signing key must be one of them. */
  acceptedKeyIds: readonly string[];
  /** Replaced in tests. */
  app?: AdminAppOptions;
}

function certificateFacts(pem: string): { notBeforeMs: number; notAfterMs: number } | undefined {
  try {
    return readCertificateValidity(pem);
  } catch {
    return undefined;
  }
}

/** How often the hash file is checked for changes (size and modification time). */
const HASH_FILE_POLL_MS = 2_000;

/** Size and modification time of the hash file, or "absent": what the poll compares. */
async function fileStamp(path: string): Promise<string> {
  try {
    const st = await Deno.stat(path);
    return `${st.mtime?.getTime()}:${st.size}`;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "absent";
    throw error;
  }
}

/**
 * Reads the hash file into the authenticator; a file that does not exist yet holds no hashes
 * (like the revocation file), so `admin-token create >> file` can create it later.
 * @throws {ConfigError} naming the file and line of the first bad entry
 */
async function loadHashFile(path: string, auth: AdminAuthenticator): Promise<number> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const parsed = parseTokenHashFile(text);
  const first = parsed.errors[0];
  if (first !== undefined) {
    throw new ConfigError({ file: path, keyPath: `line ${first.line}`, problem: first.problem });
  }
  auth.setSource("file", parsed.hashes.map((hash) => ({ hash })));
  return parsed.hashes.length;
}

/**
 * Imports the signing key and checks the relay would accept what it signs.
 * @throws {ConfigError} when its public key is not among the relay's token public keys
 */
async function loadSigningKey(path: string, accepted: readonly string[]): Promise<SigningKey> {
  const key = await importPrivateKey(await Deno.readTextFile(path), path);
  if (!accepted.includes(key.kid)) {
    throw new ConfigError({
      file: path,
      problem: `its public key (kid ${key.kid}) is not in intermediate.token_public_keys, so ` +
        "the relay would refuse every token issued with it",
      hint: "add the matching .pub file to token_public_keys",
    });
  }
  return key;
}

/** The running admin endpoint. */
export class AdminEndpoint {
  private constructor(
    readonly app: AdminApp,
    readonly server: AdminServer,
    readonly auth: AdminAuthenticator,
    readonly options: AdminEndpointOptions,
    readonly deps: AdminDeps,
  ) {}

  /**
   * Loads the admin secrets and starts serving.
   * @throws {ConfigError} for a bad hash file or a signing key the relay would not accept
   * @throws {Error} when the address cannot be bound
   */
  static async start(options: AdminEndpointOptions): Promise<AdminEndpoint> {
    const { config, store, relay } = options;
    const auth = new AdminAuthenticator();
    auth.setSource("config", config.token_hashes.map((hash) => ({ hash })));
    if (config.token_hashes_file !== undefined) {
      const n = await loadHashFile(config.token_hashes_file, auth);
      log.info(
        "Admin token hashes: {count} from {path} (re-read when it changes and on SIGHUP)",
        { count: n, path: config.token_hashes_file },
      );
    }
    const signingKey = config.token_signing_key === undefined
      ? undefined
      : await loadSigningKey(config.token_signing_key, options.acceptedKeyIds);
    let cert = certificateFacts(options.tls.cert);
    const deps: AdminDeps = {
      relay,
      store,
      auth,
      ...(signingKey === undefined ? {} : { signingKey }),
      metricsPublic: config.metrics_public,
      certificate: () => cert,
      now: Date.now,
    };
    await refreshStoredAdminTokens({ deps });
    const app = new AdminApp(deps, options.app);
    const addr = parseHostPort(config.listen);
    if (!addr.ok) throw new RangeError(addr.reason);
    const server = AdminServer.start(app, {
      hostname: addr.value.hostname,
      port: addr.value.port,
      ...(config.tls ? { tls: options.tls } : {}),
    });
    if (auth.tokens.length === 0) {
      log.warn(
        "No admin token is configured: the API and dashboard refuse everyone. Make one with " +
          '"ztna admin admin-token create --out <file>" and append the hash it prints to ' +
          "[intermediate.admin] token_hashes_file (read within 2 s), or put it in token_hashes " +
          "and restart",
      );
    }
    const endpoint = new AdminEndpoint(app, server, auth, options, deps);
    endpoint.#setCert = (tls) => (cert = certificateFacts(tls.cert));
    await endpoint.#watchHashFile();
    return endpoint;
  }

  #hashFileTimer: ReturnType<typeof setInterval> | undefined;

  /** Re-reads the hash file whenever its size or modification time changes. */
  async #watchHashFile(): Promise<void> {
    const file = this.options.config.token_hashes_file;
    if (file === undefined) return;
    let last = await fileStamp(file).catch(() => "");
    let busy = false;
    this.#hashFileTimer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        const stamp = await fileStamp(file);
        if (stamp === last) return;
        last = stamp;
        await this.#reloadHashFile(file);
      } catch (error) {
        log.error("Cannot read admin token hash file {path}: {error}", {
          path: file,
          error: error instanceof Error ? error.message : String(error),
        });
      } finally {
        busy = false;
      }
    }, HASH_FILE_POLL_MS);
  }

  async #reloadHashFile(file: string): Promise<void> {
    try {
      const n = await loadHashFile(file, this.auth);
      log.info("Reloaded {count} admin token hashes from {path}", { count: n, path: file });
    } catch (error) {
      log.error("Admin token hash file reload failed, keeping the current hashes: {error}", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  #setCert: (tls: AdminTls) => void = () => {};

  /** Base URL of the endpoint. */
  get url(): string {
    return this.server.url;
  }

  /**
   * SIGHUP: re-reads the hash file and store tokens, and takes the relay's new certificate
   * (served anew when TLS is on). Failures are logged; the previous settings stay.
   */
  async reload(tls: AdminTls): Promise<void> {
    const file = this.options.config.token_hashes_file;
    try {
      if (file !== undefined) {
        const n = await loadHashFile(file, this.auth);
        log.info("Reloaded {count} admin token hashes from {path}", { count: n, path: file });
      }
      await refreshStoredAdminTokens({ deps: this.deps });
    } catch (error) {
      log.error("Admin token reload failed, keeping the current ones: {error}", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    this.#setCert(tls);
    if (this.options.config.tls) {
      try {
        await this.server.reloadTls(tls);
      } catch (error) {
        log.error("Admin endpoint certificate reload failed, keeping the current one: {error}", {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  /** Stops serving; see {@link AdminServer.shutdown}. */
  shutdown(): Promise<void> {
    clearInterval(this.#hashFileTimer);
    return this.server.shutdown();
  }
}
