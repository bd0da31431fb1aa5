/**
 * What machine a bench ran on: cores, CPU model, Deno version, kernel and load, kept with the
 * results so numbers are never compared across machines by accident.
 * @module
 */
import { cpus } from "node:os";

/** The machine and runtime of a run. */
export interface MachineInfo {
  /** Logical cores (navigator.hardwareConcurrency). */
  cores: number;
  /** "model name" of /proc/cpuinfo, or "unknown". */
  cpuModel: string;
  deno: string;
  v8: string;
  typescript: string;
  os: string;
  kernel: string;
  /** 1, 5 and 15-minute load averages when the run started: a busy machine shows here. */
  loadavgAtStart: number[];
}

/**
 * The "model name" line of /proc/cpuinfo. Deno grants a direct read of that file only under
 * --allow-all, so it is read through `node:os`, whose `cpus()` parses the same file (needs --allow-sys).
 */
function cpuModel(): string {
  try {
    return cpus()[0]?.model.trim() || "unknown";
  } catch {
    return "unknown";
  }
}

/** Collects {@link MachineInfo} for this process's machine. */
export function collectMachineInfo(): MachineInfo {
  return {
    cores: navigator.hardwareConcurrency,
    cpuModel: cpuModel(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: Deno.build.target,
    kernel: Deno.osRelease(),
    loadavgAtStart: Deno.loadavg(),
  };
}
