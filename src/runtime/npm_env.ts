/**
 * Makes `process.env` show npm code exactly the variables the permission set grants: granted
 * variables read as before, others read as unset, and enumeration lists nothing unless all of the
 * environment is granted. Under the shipped set (env: `ZTNA_*`, `NO_COLOR`) Deno answers a read of
 * any other variable with NotCapable, and npm packages read many: acme-client loads `debug`, which
 * enumerates `process.env` on import; the PostgreSQL client reads `PG*` defaults when it builds a
 * connection. Import it before such a package; it installs its view once.
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
