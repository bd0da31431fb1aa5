/**
 * The command line: what main.ts parses (roles, admin commands, doctor, help, version), the help
 * text, and the write access a role gives up at start. `ztna admin …` (./admin/mod.ts) and the version line
 * are imported by main.ts only when asked for, so a role never loads them.
 * @module
 */
export {
  type ClientFlags,
  type Command,
  type HelpTopic,
  type LogFormatName,
  type LogLevelName,
  parseArgs,
  UsageError,
} from "./args.ts";
export { helpText } from "./help.ts";
export { dropRoleWriteAccess, ROLE_DROPS_WRITE } from "./drop_permissions.ts";
