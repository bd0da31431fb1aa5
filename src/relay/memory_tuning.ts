/**
 * The allocator setting a relay runs with on Linux: with glibc's default (a dynamic mmap
 * threshold) each idle QUIC connection keeps ~170 KiB resident, with a fixed 64 KiB threshold
 * ~90 KiB (measured in docs/BENCHMARKS.md, case 4). It must be in the environment before the
 * process starts, so the relay can only check it and say so.
 * @module
 */

/** The `GLIBC_TUNABLES` value `deno task relay` sets (deno.json) and docs/OPERATIONS.md shows. */
export const RELAY_GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=65536";

/**
 * V8's young generation kept small (2 MiB semi-spaces): the relay's data path reuses its buffers,
 * so it allocates little, and the default young generation is tens of MiB resident. Saves ~40 MiB
 * at 10,000 idle clients (docs/BENCHMARKS.md, case 4).
 */
export const RELAY_V8_FLAGS = "--max-semi-space-size=2";

/** The environment `deno task relay` gives a relay (deno.json). */
export const RELAY_ENV: Readonly<Record<string, string>> = {
  GLIBC_TUNABLES: RELAY_GLIBC_TUNABLES,
  DENO_V8_FLAGS: RELAY_V8_FLAGS,
};

/** A hint for the log when a Linux relay runs without the tuning; undefined when all is well. */
export function memoryTuningHint(os: string, tunables: string | undefined): string | undefined {
  if (os !== "linux" || tunables?.includes("glibc.malloc.mmap_threshold")) return undefined;
  return `GLIBC_TUNABLES is not set to ${RELAY_GLIBC_TUNABLES}: each idle connection may keep ` +
    "~170 KiB instead of ~90 KiB resident (docs/OPERATIONS.md, relay memory)";
}
