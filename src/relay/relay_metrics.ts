/**
 * The relay's counters, labelled by reason code; the admin endpoint exposes them in Prometheus form.
 * @module
 */

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
}

/** Every counter the relay keeps. */
export class RelayMetrics {
  readonly connections = new LabelledCounter(
    "ztna_connections_total",
    "Authenticated connections by role",
    "role",
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
  activeFlows = 0;
}
