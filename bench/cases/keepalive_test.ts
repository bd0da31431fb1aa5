/**
 * Unit tests of case 9's arithmetic: the UDP counters of /proc/net/snmp, and the cost at 10,000
 * idle clients, measured or extrapolated per alive client above the bare relay.
 * @module
 */
import assert from "node:assert/strict";
import { parseSocketDrops, parseUdpCounters } from "../netns.ts";
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

Deno.test("at10k extrapolates from the largest step where no client closed", () => {
  const dying = { ...step("shipped", 3_000, 30, 2_000), open: 1_000, closed: 2_000 };
  const a = at10k([
    step("shipped", 0, 1, 0),
    step("shipped", 2_000, 9, 4_000),
    dying,
    step("baseline", 0, 1, 0),
    step("baseline", 2_000, 2, 200),
  ]);
  assert.equal(a.relayCpuPercent, 1 + 8 * 5);
});

Deno.test("parseSocketDrops sums the drops of the sockets bound to one port", () => {
  const udp =
    `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 0100007F:9C40 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 12
  101: 0100007F:9C41 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 5
`;
  assert.equal(parseSocketDrops(udp, 40_000), 12);
  assert.equal(parseSocketDrops(udp, 40_002), 0);
});
