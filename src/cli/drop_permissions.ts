/**
 * Narrows the running process's permissions once it knows it runs a role: relay, connector and
 * client never write configs, keys, certificates or tokens, so they give up write access to
 * /etc/ztna and the project's certs folder, which only `ztna admin` needs.
 * @module
 */
import { CONFIG_FOLDER, PROJECT_FOLDER, WRITABLE_PATHS } from "../config/mod.ts";

/** Folders a role process may no longer write once started. */
export const ROLE_DROPS_WRITE: readonly string[] = [CONFIG_FOLDER, `${PROJECT_FOLDER}/certs`]
  .filter((path) => WRITABLE_PATHS.includes(path));

/**
 * Revokes write access to {@link ROLE_DROPS_WRITE}. Deno keeps the other grants (checked in
 * drop_permissions_test.ts), so the relay still writes its state folder.
 */
export async function dropRoleWriteAccess(): Promise<void> {
  for (const path of ROLE_DROPS_WRITE) {
    await Deno.permissions.revoke({ name: "write", path });
  }
}
