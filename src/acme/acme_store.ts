/**
 * ACME material on disk, under `<state_dir>/acme/` (mode 0700):
 *
 * - `account.key` — the ACME account's private key (PKCS#8 PEM, 0600), made once;
 * - `certificate.json` — the certificate chain **and** its private key in one JSON document
 *   (0600), with the directory and domains it was ordered for.
 *
 * Chain and key live in one file so that a renewal replaces both with one atomic rename
 * (durable_file.ts): a crash at any instant leaves the old pair or the new pair, never a new
 * certificate beside an old key. Every read is parsed with zod and the pair re-checked.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { join } from "node:path";
import { z } from "zod";
import { describeFsError } from "../config/fs_errors.ts";
import { AcmeError } from "./acme_error.ts";
import { type CertificatePair, certificatePair } from "./certificate_pair.ts";
import { removeLeftovers, writeFileDurable } from "./durable_file.ts";

const log = getLogger(["ztna", "acme"]);

/** Names inside `<state_dir>`. */
export const ACME_FILES = {
  folder: "acme",
  accountKey: "account.key",
  certificate: "certificate.json",
} as const;

/** The stored document; `version` lets a later format coexist. */
const StoredCertificateFile = z.strictObject({
  version: z.literal(1),
  directory_url: z.string(),
  domains: z.array(z.string()),
  obtained_at: z.string(),
  cert: z.string(),
  key: z.string(),
});

/** A stored pair and what it was ordered for. */
export interface StoredCertificate {
  pair: CertificatePair;
  directoryUrl: string;
  domains: string[];
}

function storageError(action: string, path: string, error: unknown): AcmeError {
  const described = describeFsError(error, action === "read" ? "read" : "write");
  const reason = error instanceof Deno.errors.NotCapable
    ? `${described.reason}; set intermediate.state_dir to one of them`
    : described.reason;
  return new AcmeError("storage_failed", `Cannot ${action} ${path}: ${reason}`, { cause: error });
}

/** The ACME folder of one relay. */
export class AcmeStore {
  readonly folder: string;

  constructor(stateDir: string) {
    this.folder = join(stateDir, ACME_FILES.folder);
  }

  get accountKeyPath(): string {
    return join(this.folder, ACME_FILES.accountKey);
  }

  get certificatePath(): string {
    return join(this.folder, ACME_FILES.certificate);
  }

  /**
   * Creates the folder (0700) and removes what an interrupted write left behind.
   * @throws {AcmeError} storage_failed
   */
  async open(): Promise<void> {
    try {
      await Deno.mkdir(this.folder, { recursive: true, mode: 0o700 });
      await Deno.chmod(this.folder, 0o700);
      for (const path of [this.accountKeyPath, this.certificatePath]) {
        for (const name of await removeLeftovers(path)) {
          log.info("Removed {name}, left by an interrupted write", { name });
        }
      }
    } catch (error) {
      throw storageError("prepare", this.folder, error);
    }
  }

  /**
   * The account key, made with `create` and stored the first time.
   * @throws {AcmeError} storage_failed
   */
  async accountKey(create: () => Promise<string>): Promise<string> {
    const path = this.accountKeyPath;
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw storageError("read", path, error);
    }
    const pem = await create();
    try {
      await writeFileDurable(path, pem, { mode: 0o600 });
    } catch (error) {
      throw storageError("write", path, error);
    }
    log.info("Created the ACME account key {path}", { path });
    return pem;
  }

  /**
   * The stored pair; undefined when there is none or it cannot be used (logged with the reason,
   * the file is left for inspection and replaced by the next successful issuance).
   */
  async readCertificate(): Promise<StoredCertificate | undefined> {
    const path = this.certificatePath;
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw storageError("read", path, error);
    }
    try {
      const stored = StoredCertificateFile.parse(JSON.parse(text));
      return {
        pair: certificatePair(stored.cert, stored.key),
        directoryUrl: stored.directory_url,
        domains: stored.domains,
      };
    } catch (error) {
      log.warn("Ignoring the stored certificate {path}: {error}", {
        path,
        error: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    }
  }

  /**
   * Replaces the stored pair in one atomic, durable step.
   * @throws {AcmeError} storage_failed
   */
  async writeCertificate(
    stored: StoredCertificate,
    options: { nowMs: number; beforeCommit?: (temporaryPath: string) => Promise<void> },
  ): Promise<void> {
    const document: z.input<typeof StoredCertificateFile> = {
      version: 1,
      directory_url: stored.directoryUrl,
      domains: stored.domains,
      obtained_at: new Date(options.nowMs).toISOString(),
      cert: stored.pair.cert,
      key: stored.pair.key,
    };
    try {
      await writeFileDurable(this.certificatePath, `${JSON.stringify(document, null, 2)}\n`, {
        mode: 0o600,
        ...(options.beforeCommit ? { beforeCommit: options.beforeCommit } : {}),
      });
    } catch (error) {
      throw storageError("write", this.certificatePath, error);
    }
  }
}
