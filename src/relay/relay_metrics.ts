/**
 * The relay's counters, labelled by reason code; the admin endpoint exposes them in Prometheus form.
 * @module
 */
import type { MetricFamily } from "../admin/mod.ts";

/** A counter family keyed by one label value. */
export class LabelledCounter {
  readonly #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string, readonly label: string) {}
  inc(labelValue: string, by = 1): void {
    this.#values.set(labelValue, (this.#values.get(labelValue) ?? 0) + by);
  }
  get(labelValue: string): number {
    return this.#values.get(labelValue) ?? 0;
  }
  entries(): [string, number][] {
    return [...this.#values];
  }
  /** Shows these label values at 0 until counted, so dashboards see the series from the start. */
  preset(labelValues: readonly string[]): this {
    for (const v of labelValues) if (!this.#values.has(v)) this.#values.set(v, 0);
    return this;
  }
  /** This counter as a Prometheus metric family. */
  family(): MetricFamily {
    return {
      name: this.name,
      help: this.help,
      type: "counter",
      samples: this.entries().map(([v, value]) => ({ labels: { [this.label]: v }, value })),
    };
  }
}

/** Every counter the relay keeps. */
export class RelayMetrics {
  readonly connections = new LabelledCounter(
    "ztna_connections_total",
    "Authenticated connections by role",
    "role",
  );
  /** Authenticated connections by transport (quic, tcp): where UDP is blocked, peers use TCP. */
  readonly transports = new LabelledCounter(
    "ztna_connections_by_transport_total",
    "Authenticated connections by transport",
    "transport",
  ).preset(["quic", "tcp"]);
  /**
   * TLS-over-TCP connections by what their preamble said (main, stream, offer), and those closed
   * before they joined a link, by why (bad_preamble, preamble_timeout, unknown_link_key,
   * pending_per_source, refused).
   */
  readonly tcpConnections = new LabelledCounter(
    "ztna_tcp_connections_total",
    "TLS-over-TCP connections by kind, and refusals before a link by reason",
    "kind",
  );
  readonly authFailures = new LabelledCounter(
    "ztna_auth_failures_total",
    "Refused HELLOs by reason",
    "code",
  );
  readonly registrations = new LabelledCounter(
    "ztna_registrations_total",
    "Registrations by outcome",
    "outcome",
  );
  readonly flowsOpened = new LabelledCounter(
    "ztna_flows_opened_total",
    "Flows relayed, by service",
    "service",
  );
  readonly flowsRefused = new LabelledCounter(
    "ztna_flows_refused_total",
    "Flows refused, by reason",
    "code",
  );
  readonly auditPruned = new LabelledCounter(
    "ztna_audit_entries_pruned_total",
    "Audit log entries deleted by the retention period (admin.audit_retention_days)",
    "reason",
  ).preset(["retention"]);
  readonly bytes = new LabelledCounter(
    "ztna_relayed_bytes_total",
    "Bytes relayed by direction",
    "direction",
  );
  readonly protocolErrors = new LabelledCounter(
    "ztna_protocol_errors_total",
    "Malformed input by code",
    "code",
  );
  readonly refusedStreams = new LabelledCounter(
    "ztna_refused_streams_total",
    "Streams refused before or outside a session",
    "reason",
  );
  readonly datagrams = new LabelledCounter(
    "ztna_relayed_datagrams_total",
    "UDP datagrams relayed by direction",
    "direction",
  );
  readonly datagramDrops = new LabelledCounter(
    "ztna_datagram_drops_total",
    "UDP datagrams dropped at the relay, by reason",
    "reason",
  );
  /**
   * Rejections by a rate limit or a per-connection cap, by the limit that refused: every label the
   * relay counts is preset, so each series exists at 0 from the start.
   */
  readonly rateLimited = new LabelledCounter(
    "ztna_rate_limited_total",
    "Requests rejected by a rate limit, by limit",
    "limit",
  ).preset([
    "handshakes_total",
    "handshakes_per_source",
    "flow_opens_per_identity",
    "registrations_per_identity",
    "pending_opens_per_connection",
  ]);
  /**
   * Caps whose excess is not refused but made to wait: QUIC gives a client connection stream credit
   * for max_streams_per_connection streams only, so its next flow waits and the relay never sees
   * it. Counted each time a connection uses up the last of it.
   */
  readonly capsReached = new LabelledCounter(
    "ztna_caps_reached_total",
    "Times a connection used up a cap whose excess waits instead of failing, by cap",
    "cap",
  ).preset(["streams_per_connection"]);
  readonly directSessions = new LabelledCounter(
    "ztna_direct_sessions_total",
    "Direct-path brokering by outcome",
    "outcome",
  );
  /** Certificates obtained by ACME ([intermediate.acme]); stays empty without ACME. */
  readonly acmeRenewals = new LabelledCounter(
    "ztna_acme_renewals_total",
    "Certificates obtained from the ACME CA, by kind (issue: none was usable; renew)",
    "kind",
  );
  /** Failed ACME attempts by AcmeError code (src/acme/acme_error.ts); each is retried. */
  readonly acmeFailures = new LabelledCounter(
    "ztna_acme_failures_total",
    "Failed ACME issuance or renewal attempts, by reason",
    "code",
  );
  /**
   * Flows moved to another pool member before the client heard anything, by why the first did not
   * take it: `no_accept` (silent past flow_accept_timeout_ms), `connection_lost`, `stream_ended`,
   * `streams_exhausted`.
   */
  readonly flowRetries = new LabelledCounter(
    "ztna_flow_retries_total",
    "Flows moved to another connector of the pool before their REPLY, by reason",
    "reason",
  );
  readonly pathChanges = new LabelledCounter(
    "ztna_path_changes_total",
    "Client reports of a service's flows moving to a path",
    "path",
  );
  activeFlows = 0;
}

/**
 * Every family of the relay's metrics: each {@link LabelledCounter} field of `metrics` (fields
 * added later show up without touching this function) and the active-flow gauge.
 */
export function relayMetricFamilies(metrics: RelayMetrics): MetricFamily[] {
  const families: MetricFamily[] = [];
  for (const value of Object.values(metrics)) {
    if (value instanceof LabelledCounter) families.push(value.family());
  }
  families.push({
    name: "ztna_flows_active",
    help: "Flows currently open through the relay",
    type: "gauge",
    samples: [{ labels: {}, value: metrics.activeFlows }],
  });
  return families;
}
