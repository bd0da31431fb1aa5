/**
 * Renders a bench run as markdown: per case a table of every path with "median (min–max)" cells,
 * ztna's ratios to its baselines from the same run, and at the end every target with PASS/MISS.
 * Pure: no I/O.
 * @module
 */
import { TCP_METRICS } from "./cases/tcp.ts";
import { appsSection, keepaliveSection, recoverySection } from "./report_ops.ts";
import { fleetSection } from "./report_fleet.ts";
import { transportSection } from "./report_transport.ts";
import type { BenchResult, IdleStep, TcpPathId } from "./results_schema.ts";
import { FLOW_METRICS, type Spread, spread, type TcpMetric } from "./stats.ts";

/** What the report is made of: the result without its own markdown. */
export type ReportInput = Omit<BenchResult, "markdown">;

const whole = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat("en-US", {
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});
const n0 = (n: number) => whole.format(n);
const n1 = (n: number) => oneDecimal.format(n);
/** Three decimals, so a value just under a target never prints as the target (0.697, not 0.70). */
const r3 = (n: number) => n.toFixed(3);
const pct = (n: number) => `${(n * 100).toFixed(2)} %`;
const mib = (kib: number) => n0(kib / 1024);
const times = (n: number, one: string, many = `${one}s`) => `${n0(n)} ${n === 1 ? one : many}`;

function cell(s: Spread | undefined, format: (n: number) => string): string {
  if (!s) return "—";
  return s.min === s.max
    ? format(s.median)
    : `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}

function table(head: string[], align: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(" | ")} |`,
    `|${align.join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

const TCP_TITLES: Record<TcpMetric, string> = {
  uploadMbps: "upload Mbit/s",
  downloadMbps: "download Mbit/s",
  parallelUploadMbps: "N× upload Mbit/s",
  parallelDownloadMbps: "N× download Mbit/s",
  p50Us: "p50 µs",
  p99Us: "p99 µs",
};

function tcpSection(r: ReportInput): string[] {
  const tcp = r.tcp;
  if (!tcp) return [];
  const o = r.options;
  const title = (m: TcpMetric) => TCP_TITLES[m].replace("N×", `${tcp.flows}×`);
  const label = (id: TcpPathId) => tcp.paths.find((p) => p.id === id)?.label ?? id;
  return [
    "### 1–2. TCP: bulk throughput and request/response latency",
    "",
    `${
      times(o.reps, "repetition")
    } per path; ${o.mib} MiB per transfer each way (the ${tcp.flows} ` +
    `parallel flows share it); ${o.rtts} round trips of 64 B after ${o.warmup} warm-up. ` +
    "Cells: median (min–max) over the repetitions.",
    "",
    ...table(
      ["path", ...TCP_METRICS.map(title)],
      ["---", ...TCP_METRICS.map(() => "---:")],
      tcp.paths.map((p) => [
        p.label,
        ...TCP_METRICS.map((m) => cell(tcp.summary[p.id]?.[m], n0)),
      ]),
    ),
    "",
    "ztna ÷ each path, paired per repetition (throughput: above 1 means ztna moves more; " +
    "latency: below 1 means ztna answers faster):",
    "",
    ...table(
      ["ztna ÷", ...TCP_METRICS.map((m) => title(m).replace(/ (Mbit\/s|µs)$/, ""))],
      ["---", ...TCP_METRICS.map(() => "---:")],
      tcp.ratios.map((row) => [label(row.baseline), ...TCP_METRICS.map((m) => cell(row[m], r3))]),
    ),
    "",
  ];
}

function ttfbSection(r: ReportInput): string[] {
  const t = r.ttfb;
  if (!t) return [];
  const n = Math.max(...t.paths.map((p) => t.samples.filter((s) => s.path === p.id).length));
  const ratios = Object.entries(t.ratios).map(([id, s]) =>
    `ztna ÷ ${t.paths.find((p) => p.id === id)?.label ?? id}: **${cell(s, r3)}**`
  );
  return [
    "### 3. Time to first byte of a new client process",
    "",
    `${
      times(n, "fresh process", "fresh processes")
    } per path, one at a time. From the spawn until the forward first accepts ` +
    "a connection, and until the first byte of an echo answer arrives through it (ms).",
    "",
    ...table(
      ["new process", "port accepting ms", "first byte ms"],
      ["---", "---:", "---:"],
      t.paths.map((p) => [
        p.label,
        cell(t.summary[p.id]?.connectMs, n0),
        cell(t.summary[p.id]?.firstByteMs, n0),
      ]),
    ),
    "",
    ...(ratios.length > 0 ? [`First byte, paired per repetition: ${ratios.join("; ")}.`, ""] : []),
  ];
}

function idleRow(s: IdleStep): string[] {
  const server = s.server === "ztna" ? "ztna relay" : "bare QUIC server";
  return [
    `${server}, ${n0(s.maxStreams)} streams${s.tuned === false ? ", no memory tuning" : ""}${
      s.shipped ? " (as shipped)" : ""
    }`,
    `${n0(s.open)} of ${n0(s.step)}`,
    mib(s.serverRssKiB),
    n1(s.kibPerConnection),
    n1(s.serverIdleCpuPercent),
    mib(s.loadRssKiB),
  ];
}

function relaySection(r: ReportInput): string[] {
  const c = r.relay;
  if (!c) return [];
  const h = c.handshakes;
  const cpu = (server: "ztna" | "bare") => {
    const runs = h.runs.filter((x) => x.server === server);
    return runs.length
      ? cell(spread(runs.map((x) => x.serverCpuMsPerHandshake)), (n) => n.toFixed(2))
      : "—";
  };
  const baseOf = (server: "ztna" | "bare") => {
    const b = c.idle.steps.find((s) => s.server === server)?.serverBaseRssKiB;
    return b === undefined ? "—" : mib(b);
  };
  return [
    "### 4. Relay capacity",
    "",
    `Handshakes: one load process keeps ${h.concurrency} connections being opened, ` +
    `authenticated and closed for ${h.seconds} s per repetition (ztna: TLS + control stream + ` +
    "HELLO with a valid token + WELCOME; bare: TLS + one stream with one byte each way).",
    "",
    ...table(
      ["server", "handshakes/s", "server CPU ms per handshake"],
      ["---", "---:", "---:"],
      (["ztna", "bare"] as const).map((s) => [
        s === "ztna" ? "ztna relay" : "bare QUIC server",
        cell(h.summary[s], n0),
        cpu(s),
      ]),
    ),
    "",
    `ztna ÷ bare QUIC, handshakes/s, paired per repetition: **${cell(h.ratio, r3)}**.`,
    "",
    "Idle connections: one load process opens them over one shared QUIC endpoint and holds them " +
    'authenticated and idle (keep-alive every 20 s). "Streams" is the concurrent streams a ' +
    "connection may open (the relay's `max_streams_per_connection`). The relay as shipped runs " +
    "with `deno task relay`'s memory settings (GLIBC_TUNABLES: a fixed 64 KiB mmap threshold; " +
    "DENO_V8_FLAGS: 2 MiB semi-spaces); the second relay, without them, shows what they are " +
    `worth; the bare server runs with them too. Base RSS before the first connection: ztna relay ${
      baseOf("ztna")
    } MiB, ` +
    `bare server ${baseOf("bare")} MiB.`,
    "",
    ...table(
      ["server", "idle connections", "RSS MiB", "KiB per connection", "idle CPU %", "load RSS MiB"],
      ["---", "---:", "---:", "---:", "---:", "---:"],
      c.idle.steps.map(idleRow),
    ),
    "",
    `Relay RSS at 10,000 idle clients, as shipped: **${n0(c.idle.relayMiBAt10k)} MiB**` +
    (c.idle.extrapolated ? " (extrapolated from the largest step)." : " (measured)."),
    "",
    "The relays ran with these limits raised so that one load process from one address measures " +
    `capacity, not rate limits: ${
      Object.entries(c.limits).map(([k, v]) => `\`${k} = ${n0(v)}\``).join(", ")
    }.`,
    "",
  ];
}

function udpSection(r: ReportInput): string[] {
  const u = r.udp;
  if (!u) return [];
  const o = r.options;
  const cpuLines = u.paths.flatMap((p) => {
    const runs = u.runs.filter((x) => x.path === p.id);
    const names = [...new Set(runs.flatMap((x) => Object.keys(x.cpuMsDuringFlood)))];
    if (names.length === 0) return [];
    const per = names.map((name) => {
      const v = runs.map((x) =>
        ((x.cpuMsDuringFlood[name] ?? 0) / Math.max(1, x.flood.received)) * 1_000
      );
      return `${name} ${cell(spread(v), n0)}`;
    });
    return [`${p.label}: ${per.join(", ")}`];
  });
  return [
    `### 5. UDP, ${n0(u.payloadBytes)}-byte payloads`,
    "",
    `${times(o.reps, "repetition")} per path. Flood: ${
      n0(Number(o.udpPackets))
    } datagrams as fast as the ` +
    `sender can. Ramp: ${o.udpRampMs} ms at 1k, 2k, 4k … 128k packets/s, up to the first step ` +
    "losing more than 5 %. Max: the highest delivered rate of flood and ramp. Paced: " +
    `${o.udpSeconds} s at 50 % of that repetition's max. Packets/s are counted at the sink (first ` +
    "to last arrival).",
    "",
    ...table(
      ["path", "max pkt/s", "flood pkt/s", "flood loss", "paced pkt/s", "paced loss"],
      ["---", "---:", "---:", "---:", "---:", "---:"],
      u.paths.map((p) => {
        const s = u.summary[p.id];
        return [
          p.label,
          cell(s?.maxPps, n0),
          cell(s?.floodPps, n0),
          cell(s?.floodLoss, pct),
          cell(s?.pacedPps, n0),
          cell(s?.pacedLoss, pct),
        ];
      }),
    ),
    "",
    `ztna ÷ QUIC datagram hop, max packets/s, paired per repetition: **${cell(u.ratio, r3)}**.`,
    "",
    ...(u.ratioPipe
      ? [
        "ztna ÷ QUIC datagram pipe (2 hops, like for like), max packets/s, paired per repetition: " +
        `**${cell(u.ratioPipe, r3)}**.`,
        "",
      ]
      : []),
    ...(u.ratioUdpPipe
      ? [
        "ztna ÷ UDP → two-hop QUIC datagram pipe → UDP (ztna's shape without its logic), max " +
        `packets/s, paired per repetition: **${cell(u.ratioUdpPipe, r3)}**.`,
        "",
      ]
      : []),
    ...(cpuLines.length > 0
      ? [
        "CPU ms per 1,000 packets delivered during the flood — " + cpuLines.join("; ") + ".",
        "",
      ]
      : []),
  ];
}

function sandboxSection(r: ReportInput): string[] {
  const c = r.sandbox;
  if (!c) return [];
  return [
    "### 6. The connector's Worker sandbox",
    "",
    `The same client, relay and backend through two connectors; ${
      times(r.options.reps, "repetition")
    }, ` +
    `${r.options.mib} MiB each way, ${r.options.rtts} round trips. Connector RSS once started, ` +
    "before any traffic, and at the end (the shipped connector has carried the other cases too).",
    "",
    ...table(
      [
        "connector",
        "upload Mbit/s",
        "download Mbit/s",
        "p50 µs",
        "p99 µs",
        "RSS idle MiB",
        "RSS at end MiB",
      ],
      ["---", "---:", "---:", "---:", "---:", "---:", "---:"],
      c.paths.map((p) => {
        const s = c.summary[p.id];
        return [
          p.label,
          cell(s?.uploadMbps, n0),
          cell(s?.downloadMbps, n0),
          cell(s?.p50Us, n0),
          cell(s?.p99Us, n0),
          s ? mib(s.connectorIdleRssKiB) : "—",
          s ? mib(s.connectorRssKiB) : "—",
        ];
      }),
    ),
    "",
    `Sandbox ÷ no sandbox, paired per repetition: upload **${cell(c.ratios.uploadMbps, r3)}**, ` +
    `download **${cell(c.ratios.downloadMbps, r3)}**, p50 **${cell(c.ratios.p50Us, r3)}**, ` +
    `p99 ${cell(c.ratios.p99Us, r3)}.`,
    "",
  ];
}

function directSection(r: ReportInput): string[] {
  const c = r.direct;
  if (!c) return [];
  const o = r.options;
  const t = c.ttfb;
  const wentDirect = t.samples.filter((s) => s.firstPath === "direct").length;
  const label = (id: string) => c.paths.find((p) => p.id === id)?.label ?? id;
  const v = c.verified;
  return [
    "### 7. Direct (P2P) path",
    "",
    `One relay, one connector with \`direct = true\` serving service \`${c.service}\`, clients ` +
    "identical but for `direct = true | false`. Every direct measurement is checked on the " +
    "relay's counters (no flow opened there, under 1 % of its bytes counted), every relayed one " +
    "too (all its bytes counted).",
    "",
    `${
      times(t.samples.length, "fresh client process", "fresh client processes")
    } with direct paths on, one at a time; ms from the spawn. "Any path": the first flow, ` +
    `whichever path it took (direct for ${wentDirect} of ${t.samples.length}); "direct path ` +
    'up": the bench read the client\'s "Direct path … is up"; "over the direct path": the first ' +
    "flow opened after that, which the relay did not see.",
    "",
    ...table(
      [
        "new client process",
        "port accepting ms",
        "first byte, any path ms",
        "direct path up ms",
        "first byte over the direct path ms",
      ],
      ["---", "---:", "---:", "---:", "---:"],
      [[
        "`--role=client`, `direct = true`",
        cell(t.summary.connectMs, n0),
        cell(t.summary.firstByteMs, n0),
        cell(t.summary.directUpMs, n0),
        cell(t.summary.directFirstByteMs, n0),
      ]],
    ),
    "",
    "First byte over the direct path after the first byte over any path, paired per process: " +
    `**${cell(t.summary.directLaterMs, n1)} ms**.`,
    "",
    `${times(o.reps, "repetition")} per path, one flow; ${o.mib} MiB each way; ${o.rtts} round ` +
    `trips of 64 B after ${o.warmup} warm-up. Cells: median (min–max) over the repetitions.`,
    "",
    ...table(
      ["path", ...FLOW_METRICS.map((m) => TCP_TITLES[m])],
      ["---", ...FLOW_METRICS.map(() => "---:")],
      c.paths.map((p) => [p.label, ...FLOW_METRICS.map((m) => cell(c.summary[p.id]?.[m], n0))]),
    ),
    "",
    "Direct ÷ each path, paired per repetition (throughput: above 1 means direct moves more; " +
    "latency: below 1 means direct answers faster):",
    "",
    ...table(
      ["direct ÷", ...FLOW_METRICS.map((m) => TCP_TITLES[m].replace(/ (Mbit\/s|µs)$/, ""))],
      ["---", ...FLOW_METRICS.map(() => "---:")],
      c.ratios.map((row) => [label(row.baseline), ...FLOW_METRICS.map((m) => cell(row[m], r3))]),
    ),
    "",
    `Relay counters: during the direct runs (warm-up included) ${n0(v.relayedFlowsDuringDirect)} ` +
    `flows and ${n0(v.relayedBytesDuringDirect)} bytes of ${n0(v.directBytesMoved)} moved; ` +
    `during the relayed runs ${n0(v.relayedBytesDuringRelay)} bytes of ${
      n0(v.relayBytesMoved)
    } moved.`,
    "",
  ];
}

function targetsSection(r: ReportInput): string[] {
  if (r.targets.length === 0) return [];
  return [
    "### Targets",
    "",
    ...table(
      ["target", "value", "goal", "result"],
      ["---", "---:", "---", "---"],
      r.targets.map((t) => [
        t.name,
        t.note ? `${t.shown}; ${t.note}` : t.shown,
        t.goal,
        t.result === "MISS" ? "**MISS**" : t.result,
      ]),
    ),
    "",
  ];
}

/** The whole report, as markdown (also what `latest.md` holds). */
export function renderReport(r: ReportInput): string {
  const m = r.machine;
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" / ");
  return [
    `## ztna bench, ${r.date}`,
    "",
    `Loopback, ${m.cores} cores (${m.cpuModel}), Deno ${m.deno} (V8 ${m.v8}), ${m.os}, kernel ` +
    `${m.kernel}; load average ${load(m.loadavgAtStart)} at the start, ${load(m.loadavgAtEnd)} ` +
    `at the end. Command: \`${r.command}\`; measured in ${Math.round(r.measuredSeconds)} s.`,
    ...(r.skipped.length > 0
      ? ["", `Skipped: ${r.skipped.map((s) => `${s.what} (${s.why})`).join("; ")}.`]
      : []),
    "",
    ...tcpSection(r),
    ...ttfbSection(r),
    ...relaySection(r),
    ...udpSection(r),
    ...sandboxSection(r),
    ...directSection(r),
    ...recoverySection(r),
    ...keepaliveSection(r),
    ...appsSection(r),
    ...fleetSection(r),
    ...transportSection(r),
    ...targetsSection(r),
  ].join("\n");
}
