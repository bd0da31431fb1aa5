/**
 * The ztna version, printed by `ztna --version` and reported in build info.
 * @module
 */

/** Semantic version of this build; bump on release. */
export const VERSION = "0.1.0";
