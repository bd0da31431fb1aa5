/**
 * Unit tests of case 9's arithmetic: the UDP counters of /proc/net/snmp, and the cost at 10,000
 * idle clients, measured or extrapolated per alive client above the bare relay.
 * @module
 */
import assert from "node:assert/strict";
import { parseUdpCounters } from "../netns.ts";
import type { KeepaliveStep } from "../results_schema.ts";
import { at10k, SERIES } from "./keepalive.ts";

Deno.test("parseUdpCounters reads InDatagrams, OutDatagrams and RcvbufErrors of the Udp lines", () => {
  const snmp = `Ip: Forwarding DefaultTTL
Ip: 1 64
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 120 1 0 130 7 0 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 0 0 0 0 0 0 0
`;
  assert.deepEqual(parseUdpCounters(snmp), {
    inDatagrams: 120,
    outDatagrams: 130,
    rcvbufErrors: 7,
  });
  assert.throws(() => parseUdpCounters("Ip: 1\n"), /No Udp lines/);
});

function step(
  series: "shipped" | "baseline",
  n: number,
  cpu: number,
  pps: number,
): KeepaliveStep {
  return {
    series,
    ...SERIES[series],
    step: n,
    loadProcesses: 1,
    opened: n,
    open: n,
    closed: 0,
    failed: 0,
    windowSeconds: 8,
    relayCpuPercent: cpu,
    loadCpuPercent: 1,
    packetsPerSecond: pps,
    sentPerSecond: pps,
    rcvbufDrops: 0,
    relayRssKiB: 100_000,
  };
}

Deno.test("at10k extrapolates the largest step's cost above the bare relay, per client", () => {
  const a = at10k([
    step("shipped", 0, 1, 0),
    step("shipped", 1_000, 5, 2_000),
    step("shipped", 2_000, 9, 4_000),
    step("baseline", 0, 1, 0),
    step("baseline", 2_000, 2, 200),
  ]);
  assert.deepEqual(a, {
    relayCpuPercent: 1 + 8 * 5,
    packetsPerSecond: 20_000,
    baselineCpuPercent: 1 + 1 * 5,
    baselinePacketsPerSecond: 1_000,
    extrapolated: true,
  });
  const measured = at10k([
    step("shipped", 0, 1, 0),
    step("shipped", 10_000, 50, 20_000),
    step("baseline", 0, 1, 0),
    step("baseline", 10_000, 5, 1_000),
  ]);
  assert.equal(measured.extrapolated, false);
  assert.equal(measured.relayCpuPercent, 50);
});
