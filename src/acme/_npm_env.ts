/**
 * Folder-private: makes `process.env` show npm code exactly the variables the permission set
 * grants. acme-client loads `debug`, which enumerates `process.env` when it is first imported;
 * under the shipped set (env: `ZTNA_*`, `NO_COLOR`) Deno answers that enumeration with NotCapable
 * and the relay could not even load. With this view, granted variables read as before, others
 * read as unset, and enumeration lists nothing unless all of the environment is granted. Import it
 * before "acme-client" in every file that imports acme-client.
 * @module
 */
import process from "node:process";

const original = process.env;

function granted(name: string | symbol): name is string {
  return typeof name === "string" && name !== "" &&
    Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";
}

function allGranted(): boolean {
  return Deno.permissions.querySync({ name: "env" }).state === "granted";
}

// The target is an empty object, not the original: a Proxy's invariant checks would otherwise
// enumerate the original environment, which is what the permission set forbids.
process.env = new Proxy<Record<string, string | undefined>>({}, {
  get: (_target, name) => granted(name) ? original[name] : undefined,
  set: (_target, name, value) => {
    if (typeof name !== "string") return false;
    original[name] = String(value);
    return true;
  },
  // Deleting a variable the view hides changes nothing: it already reads as unset.
  deleteProperty: (_target, name) => granted(name) ? delete original[name] : true,
  has: (_target, name) => granted(name) && name in original,
  ownKeys: () => allGranted() ? Object.keys(original) : [],
  getOwnPropertyDescriptor: (_target, name) =>
    granted(name) && name in original
      ? { value: original[name], writable: true, enumerable: true, configurable: true }
      : undefined,
});
