/**
 * The relay's revocation list file: one token id (`jti`) per line, `#` starts a comment, blank lines
 * are ignored. `ztna admin token revoke` appends entries made by {@link formatRevocationEntry}:
 *
 * ```
 * # ztna revocation list: one token id per line
 * 3q2-7wAAAAAAAAAAAAAAAA  # 2025-01-01T00:00:00.000Z laptop stolen
 * ```
 *
 * Pure: the relay reads the file and hands its text here; a bad line is reported and skipped, never
 * fatal, so one typo cannot un-revoke the rest of the file.
 * @module
 */
import { TOKEN_ID_PATTERN } from "./token_claims.ts";

/** A line that holds something other than a token id. */
export interface RevocationListError {
  /** 1-based line number. */
  line: number;
  problem: string;
}

/** The ids found and the lines that could not be read. */
export interface RevocationList {
  ids: Set<string>;
  errors: RevocationListError[];
}

/** Longest reason kept in an entry; the file is for ids, not essays. */
const MAX_REASON_LENGTH = 200;

/** Parses the text of a revocation list file. */
export function parseRevocationList(text: string): RevocationList {
  const ids = new Set<string>();
  const errors: RevocationListError[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, index) => {
    const hash = raw.indexOf("#");
    const entry = (hash === -1 ? raw : raw.slice(0, hash)).trim();
    if (entry === "") return;
    if (TOKEN_ID_PATTERN.test(entry)) {
      ids.add(entry);
    } else if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./.test(entry)) {
      // Never echo it: it is probably a whole token, a secret.
      errors.push({
        line: index + 1,
        problem: "expected a token id, got what looks like a whole token",
      });
    } else {
      const shown = entry.length > 40 ? `${entry.slice(0, 40)}…` : entry;
      errors.push({
        line: index + 1,
        problem: `expected a token id (16 to 64 base64url characters), got "${shown}"`,
      });
    }
  });
  return { ids, errors };
}

/**
 * One line for the revocation list, ending in a newline; the reason becomes a comment, with control
 * characters replaced and its length capped.
 * @throws {RangeError} when `tokenId` is not a token id
 */
export function formatRevocationEntry(tokenId: string, reason?: string): string {
  if (!TOKEN_ID_PATTERN.test(tokenId)) {
    throw new RangeError(
      `Cannot revoke token as 'tokenId' must be 16 to 64 base64url characters: current value is "${tokenId}"`,
    );
  }
  const comment = (reason ?? "").replace(/\p{C}+/gu, " ").replace(/\s+/g, " ").trim()
    .slice(0, MAX_REASON_LENGTH);
  return comment === "" ? `${tokenId}\n` : `${tokenId}  # ${comment}\n`;
}
