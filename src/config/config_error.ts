/**
 * The typed error every configuration problem becomes: file, key path, problem, on one line.
 * Pure: no I/O.
 * @module
 */

/** Fields of a {@link ConfigError}. */
export interface ConfigErrorInit {
  /** The file as the operator named it (or `environment` for ZTNA_* variables). */
  file: string;
  /** Dotted key path such as `connector.service[0].backend`; absent for whole-file problems. */
  keyPath?: string;
  /** What is wrong, worded for the operator; never holds secrets. */
  problem: string;
  /** An optional second line telling the operator what to do. */
  hint?: string;
  /** Further problems found in the same pass, each a complete one-line error. */
  more?: readonly ConfigError[];
  /** The underlying error, kept for debug logs. */
  cause?: unknown;
}

/**
 * A configuration mistake. `message` is one line: `<file>: <key.path>: <problem>`.
 * main.ts prints it (and `more`, and `hint`) and exits with status 2.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly file: string;
  readonly keyPath: string | undefined;
  readonly problem: string;
  readonly hint: string | undefined;
  readonly more: readonly ConfigError[];

  constructor(init: ConfigErrorInit) {
    const where = init.keyPath === undefined ? init.file : `${init.file}: ${init.keyPath}`;
    super(
      `${where}: ${init.problem}`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.file = init.file;
    this.keyPath = init.keyPath;
    this.problem = init.problem;
    this.hint = init.hint;
    this.more = init.more ?? [];
  }
}
