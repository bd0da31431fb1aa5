/**
 * What `/metrics` shows: the relay's counters, plus gauges computed at scrape time (connections
 * by role, services up, certificate expiry), build info, and the admin endpoint's own counters.
 * All names start with `ztna_`. Pure: works on the deps it is given.
 * @module
 */
import { VERSION } from "../version.ts";
import type { AdminDeps } from "./admin_context.ts";
import { type MetricFamily, renderPrometheus } from "./prometheus.ts";

/** Counters of the admin endpoint itself. */
export class AdminMetrics {
  readonly #requests = new Map<string, number>();
  authFailures = 0;

  /** Counts one answered request by HTTP status. */
  request(status: number): void {
    const key = String(status);
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
  }

  families(): MetricFamily[] {
    return [
      {
        name: "ztna_admin_requests_total",
        help: "Admin endpoint requests answered, by HTTP status",
        type: "counter",
        samples: [...this.#requests].map(([status, value]) => ({ labels: { status }, value })),
      },
      {
        name: "ztna_admin_auth_failures_total",
        help: "Admin requests refused for a missing or unknown admin token",
        type: "counter",
        samples: [{ labels: {}, value: this.authFailures }],
      },
    ];
  }
}

/** Every family `/metrics` serves, in a stable order. */
export function metricFamilies(deps: AdminDeps, admin: AdminMetrics): MetricFamily[] {
  const connections = deps.relay.connections();
  const byRole = (role: string) => connections.filter((c) => c.role === role).length;
  const cert = deps.certificate();
  return [
    {
      name: "ztna_build_info",
      help: "Build of the running relay; the value is always 1",
      type: "gauge",
      samples: [{ labels: { version: VERSION, deno: Deno.version.deno }, value: 1 }],
    },
    {
      name: "ztna_connections_open",
      help: "Open peer connections by role (pending: HELLO not yet accepted)",
      type: "gauge",
      samples: ["client", "connector", "pending"].map((role) => ({
        labels: { role },
        value: byRole(role),
      })),
    },
    {
      name: "ztna_services_up",
      help: "Services with at least one connector online",
      type: "gauge",
      samples: [{
        labels: {},
        value: deps.relay.services().filter((s) => s.health === "up").length,
      }],
    },
    ...deps.relay.metricFamilies(),
    {
      name: "ztna_certificate_expiry_timestamp_seconds",
      help: "When the relay's TLS certificate expires (Unix time)",
      type: "gauge",
      samples: cert === undefined
        ? []
        : [{ labels: {}, value: Math.floor(cert.notAfterMs / 1_000) }],
    },
    ...admin.families(),
  ];
}

/** The `/metrics` text. */
export function metricsText(deps: AdminDeps, admin: AdminMetrics): string {
  return renderPrometheus(metricFamilies(deps, admin));
}
