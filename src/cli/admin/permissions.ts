/**
 * `ztna admin permissions --role <role> --config <file>`: prints the exact Deno flags that run
 * that role with that config and nothing more (`--allow-net` as its sandbox, read and write the
 * files it names), for operators who compile or `deno run` a per-role binary themselves.
 * @module
 */
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { parseConfigText, PROJECT_FOLDER, readConfigText, Role } from "../../config/mod.ts";
import { resolveDialerPaths, resolveIntermediatePaths } from "../../config/paths.ts";
import { STDIN } from "../../config/load.ts";
import { permissionFlags, type RoleConfig } from "../../sandbox/mod.ts";
import { type AdminDeps, AdminFailure } from "./commands.ts";

/** `ztna admin permissions`. */
export const PermissionsCommand = z.strictObject({
  kind: z.literal("permissions"),
  role: Role,
  config: z.string().min(1, "expected a path"),
});
export type PermissionsCommand = z.output<typeof PermissionsCommand>;

/** `ztna admin permissions --help`. */
export const PERMISSIONS_HELP =
  `Usage: ztna admin permissions --role intermediate|connector|client --config <file>

Prints, on one line, the Deno flags that run this role with this config and nothing more:
--allow-net with exactly the addresses the config names (the same list the role's sandbox gets
inside the shipped binary), --allow-read and --allow-write with exactly its files, the
environment variables it reads and the unstable features it uses. For a per-role binary:
  deno compile $(ztna admin permissions --role client --config client.toml) main.ts
or deno run with the same flags. A role with direct paths (client default, connector
direct = true) needs any peer address: --allow-net then names none, and a note says so.
Paths are absolute; relative ones in the config are resolved against its folder.

  --role <role>    intermediate (the relay), connector or client
  --config <file>  the role's config (- reads it from stdin)
  -h, --help       this help
`;

/**
 * The program's own modules: a `deno run` of the source loads a Worker's modules under the read
 * permission (a compiled binary embeds them, and these paths then name its embedded copy).
 */
function ownModules(): string[] {
  return [`${PROJECT_FOLDER}/src`, `${PROJECT_FOLDER}/deno.json`];
}

/** Runs the command: flags on stdout (one line), notes on stderr. */
export async function permissions(command: PermissionsCommand, { io }: AdminDeps): Promise<number> {
  const path = command.config;
  const label = path === STDIN ? "<stdin>" : path;
  const file = parseConfigText(label, await readConfigText(path));
  const base = path === STDIN ? resolve(".") : dirname(resolve(path));
  const configPath = path === STDIN ? undefined : resolve(path);
  let loaded: RoleConfig;
  switch (command.role) {
    case "intermediate":
      if (file.intermediate === undefined) break;
      loaded = { role: "intermediate", config: resolveIntermediatePaths(file.intermediate, base) };
      return print(loaded);
    case "connector":
      if (file.connector === undefined) break;
      loaded = { role: "connector", config: resolveDialerPaths(file.connector, base) };
      return print(loaded);
    case "client":
      if (file.client === undefined) break;
      loaded = { role: "client", config: resolveDialerPaths(file.client, base) };
      return print(loaded);
  }
  throw new AdminFailure(`${label} has no [${command.role}] section`, {
    hint: `pass the config of a ${command.role}, or the --role it was written for`,
  });

  function print(loaded: RoleConfig): number {
    io.out(
      permissionFlags(loaded, configPath, { ownModules: ownModules() })
        .join(" "),
    );
    if (loaded.role !== "intermediate" && loaded.config.direct) {
      io.err(
        `ztna admin: note: ${loaded.role}.direct = true: direct paths reach addresses the relay ` +
          "hands over at run time, so --allow-net names none; set direct = false to narrow it",
      );
    }
    return 0;
  }
}
