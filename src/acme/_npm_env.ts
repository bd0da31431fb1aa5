/**
 * Folder-private: the `process.env` view of src/runtime/npm_env.ts, before acme-client (which loads
 * `debug`, enumerating `process.env` on import). Import it before "acme-client" in every file that
 * imports acme-client.
 * @module
 */
import "../runtime/npm_env.ts";
