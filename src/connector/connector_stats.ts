/**
 * Counters of one egress Worker for the connector's status endpoint: flows by service and
 * transport, bytes, refused flows by code (egress refusals among them); sent to main as plain
 * data, which sums the Workers a reload leaves running (connector_status.ts).
 * @module
 */
import { z } from "zod";
import { ZtnaError } from "../protocol/mod.ts";

/** One Worker's counters and live links, as they cross postMessage. */
export const WorkerStats = z.strictObject({
  draining: z.boolean(),
  links: z.array(z.strictObject({
    relay: z.string().max(300),
    version: z.number().int(),
    services: z.array(z.string().max(256)).max(10_000),
  })).max(1_000),
  flows: z.array(z.strictObject({
    service: z.string().max(256),
    protocol: z.enum(["tcp", "udp"]),
    opened: z.number().int().min(0),
    active: z.number().int().min(0),
    /** Bytes the backend sent (toward the client), of ended TCP flows. */
    fromBackend: z.number().int().min(0),
    /** Bytes sent to the backend, of ended TCP flows. */
    toBackend: z.number().int().min(0),
  })).max(100_000),
  refusals: z.array(z.strictObject({
    service: z.string().max(256),
    code: z.string().max(64),
    count: z.number().int().min(0),
  })).max(100_000),
  udpDrops: z.array(z.strictObject({ reason: z.string().max(64), count: z.number().int() }))
    .max(1_000),
});
export type WorkerStats = z.infer<typeof WorkerStats>;
type FlowCounts = WorkerStats["flows"][number];

/** Flow counters of one data plane (the Worker's relay links share it). */
export class ConnectorStats {
  readonly #flows = new Map<string, FlowCounts>();
  readonly #refusals = new Map<string, number>();

  #counts(service: string, protocol: "tcp" | "udp"): FlowCounts {
    const key = `${service}\u0000${protocol}`;
    let c = this.#flows.get(key);
    if (!c) {
      c = { service, protocol, opened: 0, active: 0, fromBackend: 0, toBackend: 0 };
      this.#flows.set(key, c);
    }
    return c;
  }

  /** A flow reached its backend (REPLY ok). */
  flowOpened(service: string, protocol: "tcp" | "udp"): void {
    const c = this.#counts(service, protocol);
    c.opened++;
    c.active++;
  }

  /** That flow ended, having moved these bytes (0 for UDP: not counted per flow). */
  flowEnded(service: string, protocol: "tcp" | "udp", fromBackend = 0, toBackend = 0): void {
    const c = this.#counts(service, protocol);
    c.active = Math.max(0, c.active - 1);
    c.fromBackend += fromBackend;
    c.toBackend += toBackend;
  }

  /** A flow was refused with the code its REPLY carries (`egress_denied`: the sandbox held). */
  refused(service: string, error: unknown): void {
    const code = error instanceof ZtnaError ? error.code : "backend_unreachable";
    const key = `${service}\u0000${code}`;
    this.#refusals.set(key, (this.#refusals.get(key) ?? 0) + 1);
  }

  /** The counters as plain data. */
  counters(): Pick<WorkerStats, "flows" | "refusals"> {
    return {
      flows: [...this.#flows.values()].map((c) => ({ ...c })),
      refusals: [...this.#refusals].map(([key, count]) => {
        const [service, code] = key.split("\u0000");
        return { service, code, count };
      }),
    };
  }
}
