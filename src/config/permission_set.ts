/**
 * The folders the shipped permission set (deno.json "ztna") lets the binary read and write, taken
 * from deno.json itself so messages, help and the permission set cannot disagree.
 * Pure: deno.json is imported as a module (bundled into a compiled binary), no file is read.
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };

/**
 * The project folder: where deno.json sits. Deno resolves the set's relative entries ("." and
 * "./state") against it, not against the working folder, so messages name it absolutely.
 */
export const PROJECT_FOLDER = decodeURIComponent(new URL("../../", import.meta.url).pathname)
  .replace(/\/$/, "");

/** Folders the role processes never need to write: they give up write access here at start. */
export const CONFIG_FOLDER = "/etc/ztna";

/** Where relays keep their state in production (store, revocation list, ACME material). */
export const STATE_FOLDER = "/var/lib/ztna";

function absolute(entry: string): string {
  if (entry === ".") return PROJECT_FOLDER;
  return entry.startsWith("./") ? `${PROJECT_FOLDER}/${entry.slice(2)}` : entry;
}

function list(entries: readonly string[]): string {
  const shown = entries.map(absolute);
  return shown.length < 2
    ? shown.join("")
    : `${shown.slice(0, -1).join(", ")} and ${shown[shown.length - 1]}`;
}

/** Absolute folders the binary may read, in deno.json's order. */
export const READABLE_PATHS: readonly string[] = denoJson.permissions.ztna.read.map(absolute);

/** Absolute folders the binary may write, in deno.json's order. */
export const WRITABLE_PATHS: readonly string[] = denoJson.permissions.ztna.write.map(absolute);

/** "/work/ztna, /etc/ztna and /var/lib/ztna": for messages and help. */
export const READABLE_FOLDERS: string = list(denoJson.permissions.ztna.read);

/** "/work/ztna/certs, /work/ztna/state, /etc/ztna and /var/lib/ztna": for messages and help. */
export const WRITABLE_FOLDERS: string = list(denoJson.permissions.ztna.write);

/** True when `path` (absolute) lies in one of `folders`. */
export function isUnder(path: string, folders: readonly string[]): boolean {
  return folders.some((folder) => path === folder || path.startsWith(`${folder}/`));
}
