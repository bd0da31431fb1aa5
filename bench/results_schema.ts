/**
 * The JSON a bench run writes (`bench/results/<date>.json`), as zod schemas: the single source of
 * the result types the cases fill in, checked before the file is written and again by the smoke
 * test. Every figure is a finite number; rates, sizes and times are positive.
 * @module
 */
import { z } from "zod";

const Num = z.number().finite();
const Pos = z.number().finite().positive();
const NonNeg = z.number().finite().nonnegative();
const Count = z.number().int().nonnegative();
const Fraction = z.number().finite().min(0).max(1);

/** Median of the repetitions and their range. */
export const Spread = z.strictObject({ median: Num, min: Num, max: Num });

/** A path or target that was left out, and why (shown in the report). */
export const Skipped = z.strictObject({ what: z.string(), why: z.string() });
export type Skipped = z.infer<typeof Skipped>;

/** One verdict of the targets table. */
export const Target = z.strictObject({
  case: z.string(),
  name: z.string(),
  /** The judged value, or null when it could not be measured. */
  value: Num.nullable(),
  /** The value as shown in the report, with its range or note. */
  shown: z.string(),
  goal: z.string(),
  result: z.enum(["PASS", "MISS", "n/a"]),
  note: z.string().optional(),
});
export type Target = z.infer<typeof Target>;

// ---- Cases 1 and 2: TCP throughput and round trips ----

/** TCP paths, in table order. */
export const TcpPathId = z.enum(["direct", "pipe", "ztna", "sshL", "sshJ", "stunnel"]);
export type TcpPathId = z.infer<typeof TcpPathId>;

const Throughput = z.strictObject({ bytes: Pos, ms: Pos, mbps: Pos });
const ParallelThroughput = Throughput.extend({ flows: Pos });

/** Timed request/response round trips on one connection. */
const RoundTripSeries = z.strictObject({
  warmup: Count,
  p50Us: Pos,
  p99Us: Pos,
  minUs: Pos,
  maxUs: Pos,
  /** Every timed round trip in microseconds, rounded to 0.1 µs. */
  samplesUs: z.array(Pos),
});

/** One repetition of one TCP path. */
export const TcpRep = z.strictObject({
  path: TcpPathId,
  /** 1-based repetition number. */
  rep: Pos,
  /** Position of the path within its repetition (the order rotates). */
  position: Count,
  upload: Throughput,
  download: Throughput,
  parallelUpload: ParallelThroughput,
  parallelDownload: ParallelThroughput,
  roundTrips: RoundTripSeries,
});
export type TcpRep = z.infer<typeof TcpRep>;

const TcpSummary = z.strictObject({
  uploadMbps: Spread,
  downloadMbps: Spread,
  parallelUploadMbps: Spread,
  parallelDownloadMbps: Spread,
  p50Us: Spread,
  p99Us: Spread,
});

/** ztna ÷ one baseline, per metric, paired per repetition. */
const RatioRow = z.strictObject({
  baseline: TcpPathId,
  uploadMbps: Spread,
  downloadMbps: Spread,
  parallelUploadMbps: Spread,
  parallelDownloadMbps: Spread,
  p50Us: Spread,
  p99Us: Spread,
});

/** Cases 1 and 2. */
export const TcpCase = z.strictObject({
  paths: z.array(z.strictObject({ id: TcpPathId, label: z.string() })).min(1),
  flows: Pos,
  runs: z.array(TcpRep).min(1),
  summary: z.partialRecord(TcpPathId, TcpSummary),
  /** ztna ÷ each other path that ran. */
  ratios: z.array(RatioRow),
});
export type TcpCase = z.infer<typeof TcpCase>;

// ---- Case 3: time to first byte of a new process ----

export const TtfbPathId = z.enum(["ztna", "sshL", "sshJ"]);
export type TtfbPathId = z.infer<typeof TtfbPathId>;

/** One fresh process: milliseconds from spawn to its forward accepting, and to the first byte. */
export const TtfbSample = z.strictObject({
  path: TtfbPathId,
  rep: Pos,
  connectMs: Pos,
  firstByteMs: Pos,
  /** Connection attempts until one was answered (1 = the first). */
  attempts: Pos,
});
export type TtfbSample = z.infer<typeof TtfbSample>;

/** Case 3. */
export const TtfbCase = z.strictObject({
  paths: z.array(z.strictObject({ id: TtfbPathId, label: z.string() })).min(1),
  samples: z.array(TtfbSample).min(1),
  summary: z.partialRecord(
    TtfbPathId,
    z.strictObject({ connectMs: Spread, firstByteMs: Spread }),
  ),
  /** ztna ÷ each ssh path, first byte, paired per repetition. */
  ratios: z.partialRecord(TtfbPathId, Spread),
});
export type TtfbCase = z.infer<typeof TtfbCase>;

// ---- Case 4: relay capacity ----

export const ServerId = z.enum(["ztna", "bare"]);
export type ServerId = z.infer<typeof ServerId>;

/** One handshake-rate run of the load process against one server. */
export const HandshakeRun = z.strictObject({
  server: ServerId,
  rep: Pos,
  completed: Count,
  failed: Count,
  seconds: Pos,
  perSecond: Pos,
  /** CPU the server spent per completed handshake, in milliseconds. */
  serverCpuMsPerHandshake: NonNeg,
  errors: z.record(z.string(), Count),
});
export type HandshakeRun = z.infer<typeof HandshakeRun>;

/** Memory of one server at one step of idle connections. */
export const IdleStep = z.strictObject({
  server: ServerId,
  /** Concurrent streams the server allows per connection (the relay's max_streams_per_connection). */
  maxStreams: Pos,
  /** True for the relay as shipped; false for a variant the bench runs to show what a knob does. */
  shipped: z.boolean(),
  /** Ran with the relay's allocator tuning (GLIBC_TUNABLES, `deno task relay`); absent: unknown. */
  tuned: z.boolean().optional(),
  /** Connections asked for. */
  step: Pos,
  /** Connections open and authenticated at the reading. */
  open: Count,
  failed: Count,
  /** Connections that closed on their own while held (should be 0). */
  closed: Count,
  /** Seconds it took to open this step's connections. */
  seconds: NonNeg,
  serverRssKiB: Pos,
  /** RSS of the same server before the first connection. */
  serverBaseRssKiB: Pos,
  /** (RSS − base RSS) ÷ open connections. */
  kibPerConnection: Num,
  loadRssKiB: Pos,
  /** Share of one core the server used while holding the connections (keep-alives, timers). */
  serverIdleCpuPercent: NonNeg,
  errors: z.record(z.string(), Count),
});
export type IdleStep = z.infer<typeof IdleStep>;

/** Case 4. */
export const RelayCase = z.strictObject({
  limits: z.record(z.string(), Pos),
  handshakes: z.strictObject({
    concurrency: Pos,
    seconds: Pos,
    runs: z.array(HandshakeRun).min(1),
    summary: z.partialRecord(ServerId, Spread),
    /** ztna ÷ bare QUIC, handshakes per second, paired per repetition. */
    ratio: Spread,
  }),
  idle: z.strictObject({
    steps: z.array(IdleStep).min(1),
    /** The relay's RSS at 10,000 idle connections, measured or extrapolated, in MiB. */
    relayMiBAt10k: Pos,
    extrapolated: z.boolean(),
  }),
});
export type RelayCase = z.infer<typeof RelayCase>;

// ---- Case 5: UDP ----

export const UdpPathId = z.enum(["direct", "hop", "pipe", "udp-pipe", "ztna"]);
export type UdpPathId = z.infer<typeof UdpPathId>;

/** One burst or paced series of probes through one path. */
export const UdpSeries = z.strictObject({
  sent: Pos,
  /** Send loop time in milliseconds. */
  sendMs: Pos,
  /** Rate the sender achieved, packets per second. */
  offeredPps: Pos,
  received: Count,
  /** Packets received ÷ time from the first to the last at the sink. */
  deliveredPps: NonNeg,
  loss: Fraction,
});
export type UdpSeries = z.infer<typeof UdpSeries>;

/** A series paced at a chosen rate. */
export const PacedSeries = UdpSeries.extend({ targetPps: Pos });
export type PacedSeries = z.infer<typeof PacedSeries>;

/** One repetition of one UDP path. */
export const UdpRep = z.strictObject({
  path: UdpPathId,
  rep: Pos,
  position: Count,
  payloadBytes: Pos,
  /** `udpPackets` datagrams as fast as the sender can. */
  flood: UdpSeries,
  /** Short series at doubling rates, up to the first one with heavy loss. */
  ramp: z.array(PacedSeries),
  /** The highest delivered rate of the flood and the ramp: the path's maximum. */
  maxPps: Pos,
  /** Paced at half of this repetition's maximum for `udpSeconds`. */
  paced: PacedSeries,
  /** CPU milliseconds per process during the flood. */
  cpuMsDuringFlood: z.record(z.string(), NonNeg),
});
export type UdpRep = z.infer<typeof UdpRep>;

/** Case 5. */
export const UdpCase = z.strictObject({
  paths: z.array(z.strictObject({ id: UdpPathId, label: z.string() })).min(1),
  payloadBytes: Pos,
  runs: z.array(UdpRep).min(1),
  summary: z.partialRecord(
    UdpPathId,
    z.strictObject({
      maxPps: Spread,
      floodPps: Spread,
      floodLoss: Spread,
      pacedPps: Spread,
      pacedLoss: Spread,
    }),
  ),
  /** ztna ÷ hop, maximum packets/s, paired per repetition. */
  ratio: Spread,
  /** ztna ÷ the two-hop datagram pipe, maximum packets/s, paired (absent in older results). */
  ratioPipe: Spread.optional(),
  /**
   * ztna ÷ the UDP → two-hop datagram pipe → UDP baseline (ztna's shape without its logic), maximum
   * packets/s, paired (absent in older results).
   */
  ratioUdpPipe: Spread.optional(),
});
export type UdpCase = z.infer<typeof UdpCase>;

// ---- Case 6: the connector's Worker sandbox ----

export const SandboxPathId = z.enum(["worker", "main"]);
export type SandboxPathId = z.infer<typeof SandboxPathId>;

/** Single-flow upload and download, round-trip p50 and p99: medians and ranges, or ratios. */
const FlowSpreads = z.strictObject({
  uploadMbps: Spread,
  downloadMbps: Spread,
  p50Us: Spread,
  p99Us: Spread,
});

/** One repetition through one connector. */
export const SandboxRep = z.strictObject({
  path: SandboxPathId,
  rep: Pos,
  position: Count,
  uploadMbps: Pos,
  downloadMbps: Pos,
  p50Us: Pos,
  p99Us: Pos,
});
export type SandboxRep = z.infer<typeof SandboxRep>;

/** Case 6: ztna through the shipped connector (data plane in the Worker) and without the Worker. */
export const SandboxCase = z.strictObject({
  paths: z.array(z.strictObject({ id: SandboxPathId, label: z.string() })).length(2),
  runs: z.array(SandboxRep).min(1),
  summary: z.partialRecord(
    SandboxPathId,
    FlowSpreads.extend({
      /** The connector process's RSS once registered, before any traffic. */
      connectorIdleRssKiB: Pos,
      /** The connector process's RSS after the measurements (depends on what it carried before). */
      connectorRssKiB: Pos,
    }),
  ),
  /** Worker ÷ main thread, paired per repetition. */
  ratios: FlowSpreads,
});
export type SandboxCase = z.infer<typeof SandboxCase>;

// ---- Case 7: the direct (P2P) path ----

/** Paths of case 7: ztna direct, ztna through the relay (same connector), the two-hop pipe. */
export const DirectPathId = z.enum(["direct", "relay", "pipe"]);
export type DirectPathId = z.infer<typeof DirectPathId>;

/** One fresh client process (direct paths on), times from its spawn in milliseconds. */
export const DirectTtfbSample = z.strictObject({
  rep: Pos,
  /** Its forward first accepted a connection. */
  connectMs: Pos,
  /** First byte of the first flow's echo answer, whichever path that flow took. */
  firstByteMs: Pos,
  /** Connection attempts until the first flow was answered. */
  attempts: Pos,
  /** The first flow's path, by the relay's flow counter. */
  firstPath: z.enum(["relay", "direct"]),
  /** The bench read the client's "Direct path to … is up" line. */
  directUpMs: Pos,
  /** First byte of the first flow opened once the direct path was up; the relay saw no flow. */
  directFirstByteMs: Pos,
});
export type DirectTtfbSample = z.infer<typeof DirectTtfbSample>;

/** One repetition of one path of case 7, and what the relay's counters did meanwhile. */
export const DirectRep = z.strictObject({
  path: DirectPathId,
  rep: Pos,
  position: Count,
  upload: Throughput,
  download: Throughput,
  roundTrips: RoundTripSeries,
  /** Growth of the relay's `ztna_relayed_bytes_total` during this repetition (both directions). */
  relayedBytes: NonNeg,
  /** Growth of the relay's `ztna_flows_opened_total` during this repetition. */
  relayedFlows: Count,
});
export type DirectRep = z.infer<typeof DirectRep>;

/** Case 7: a client → connector direct path against the relayed one, in the same run. */
export const DirectCase = z.strictObject({
  /** The service both clients reach through one connector with `direct = true`. */
  service: z.string(),
  ttfb: z.strictObject({
    samples: z.array(DirectTtfbSample).min(1),
    summary: z.strictObject({
      connectMs: Spread,
      firstByteMs: Spread,
      directUpMs: Spread,
      directFirstByteMs: Spread,
      /** directFirstByteMs − firstByteMs, per process: what waiting for the direct path costs. */
      directLaterMs: Spread,
    }),
  }),
  paths: z.array(z.strictObject({ id: DirectPathId, label: z.string() })).min(2),
  runs: z.array(DirectRep).min(1),
  summary: z.partialRecord(DirectPathId, FlowSpreads),
  /** direct ÷ each other path, paired per repetition. */
  ratios: z.array(FlowSpreads.extend({ baseline: DirectPathId })),
  /** The relay's counters over every direct measurement (warm-up and timed), against the bytes. */
  verified: z.strictObject({
    directBytesMoved: Pos,
    relayedBytesDuringDirect: NonNeg,
    relayedFlowsDuringDirect: Count,
    relayBytesMoved: Pos,
    relayedBytesDuringRelay: NonNeg,
  }),
});
export type DirectCase = z.infer<typeof DirectCase>;

// ---- Case 8: recovery after kill -9 ----

/**
 * What died: one of two connectors (kill -9, or SIGSTOP: silent like a crashed host), the only
 * connector (killed, restarted), the relay (killed, restarted).
 */
export const RecoveryScenarioId = z.enum([
  "poolMember",
  "poolMemberStopped",
  "onlyConnector",
  "relay",
]);
export type RecoveryScenarioId = z.infer<typeof RecoveryScenarioId>;

/** One kill -9 and the new connections made from it on (times in ms after the kill). */
export const RecoveryRun = z.strictObject({
  scenario: RecoveryScenarioId,
  run: Pos,
  /** End of the first new connection started after the kill that was answered. */
  firstSuccessMs: NonNeg,
  /** New connections started after the kill, and how many of them failed. */
  attempts: Count,
  failed: Count,
  /** Duration of the slowest of them (a connection that waited or was retried). */
  slowestMs: NonNeg,
  /** Start of the last failed one; absent when none failed. */
  lastFailureMs: NonNeg.optional(),
});
export type RecoveryRun = z.infer<typeof RecoveryRun>;

/** Case 8. */
export const RecoveryCase = z.strictObject({
  runs: z.array(RecoveryRun).min(1),
  summary: z.partialRecord(
    RecoveryScenarioId,
    z.strictObject({ firstSuccessMs: Spread, failed: Spread, slowestMs: Spread }),
  ),
});
export type RecoveryCase = z.infer<typeof RecoveryCase>;

// ---- Case 9: keep-alive cost ----

/** The shipped keep-alive (1 s, dialer idle 2.5 s, relay idle 3 s) or the 20 s baseline. */
export const KeepaliveSeriesId = z.enum(["shipped", "baseline"]);
export type KeepaliveSeriesId = z.infer<typeof KeepaliveSeriesId>;

/** The relay holding `open` idle authenticated clients, read over a window. */
export const KeepaliveStep = z.strictObject({
  series: KeepaliveSeriesId,
  keepaliveMs: Pos,
  dialerIdleTimeoutMs: Pos,
  relayIdleTimeoutMs: Pos,
  /** Clients asked for (0: the relay alone). */
  step: Count,
  /** Load processes sharing the clients. */
  loadProcesses: Count,
  /** Clients opened and authenticated. */
  opened: Count,
  /** Of them, alive at the reading (opened − closed): what the figures are per. */
  open: Count,
  /** Connections that closed on their own while held (idle timeouts under load). */
  closed: Count,
  failed: Count,
  windowSeconds: Pos,
  /** Relay CPU time per wall second, in % of one core. */
  relayCpuPercent: NonNeg,
  /** The load process's, for scale (it runs every client's timers). */
  loadCpuPercent: NonNeg,
  /** UDP datagrams received per second in the run's network namespace: every relay packet, in or out. */
  packetsPerSecond: NonNeg,
  /** UDP datagrams sent per second there (equal to the above unless packets were dropped). */
  sentPerSecond: NonNeg,
  /**
   * Datagrams dropped on a full socket receive buffer since the series' relay started (opening
   * included): lost keep-alives are what closes idle clients.
   */
  rcvbufDrops: Count,
  /** Of them, dropped by the relay's own socket (/proc/net/udp); absent without a namespace. */
  relaySocketDrops: Count.optional(),
  relayRssKiB: Pos,
});
export type KeepaliveStep = z.infer<typeof KeepaliveStep>;

/** Case 9. */
export const KeepaliveCase = z.strictObject({
  /** Where the packets were counted. */
  counter: z.string(),
  steps: z.array(KeepaliveStep).min(1),
  /** The shipped series at 10,000 clients, measured or extrapolated from the largest step. */
  at10k: z.strictObject({
    relayCpuPercent: NonNeg,
    packetsPerSecond: NonNeg,
    baselineCpuPercent: NonNeg,
    baselinePacketsPerSecond: NonNeg,
    extrapolated: z.boolean(),
  }),
});
export type KeepaliveCase = z.infer<typeof KeepaliveCase>;

// ---- Case 10: real applications ----

export const AppPathId = z.enum(["direct", "ztna", "sshL", "sshJ", "stunnel"]);
export type AppPathId = z.infer<typeof AppPathId>;
export const AppWorkload = z.enum(["pgSelect", "pgTpcb", "wrk"]);
export type AppWorkload = z.infer<typeof AppWorkload>;

/** One workload through one path. */
export const AppRun = z.strictObject({
  path: AppPathId,
  workload: AppWorkload,
  /** Transactions (pgbench) or requests (wrk) per second. */
  tps: Pos,
  /** pgbench's average latency; wrk's p50. */
  latencyMs: Pos,
  /** wrk's p99; absent for pgbench. */
  p99Ms: Pos.optional(),
  /** Failed transactions or socket errors and non-2xx answers. */
  errors: Count,
});
export type AppRun = z.infer<typeof AppRun>;

/** Case 10. */
export const AppsCase = z.strictObject({
  seconds: Pos,
  pgClients: Pos,
  wrkConnections: Pos,
  paths: z.array(z.strictObject({ id: AppPathId, label: z.string() })).min(1),
  runs: z.array(AppRun).min(1),
  /** Each path ÷ direct and ÷ ssh -J, per workload (tps: above 1 is faster; latency: below 1). */
  ratios: z.array(z.strictObject({
    workload: AppWorkload,
    path: AppPathId,
    tpsToDirect: Pos,
    latencyToDirect: Pos,
    tpsToSshJ: Pos.optional(),
    latencyToSshJ: Pos.optional(),
  })),
});
export type AppsCase = z.infer<typeof AppsCase>;

// ---- The whole run ----

/** The machine and runtime of a run. */
export const Machine = z.strictObject({
  cores: Pos,
  cpuModel: z.string(),
  deno: z.string(),
  v8: z.string(),
  typescript: z.string(),
  os: z.string(),
  kernel: z.string(),
  loadavgAtStart: z.array(NonNeg),
  loadavgAtEnd: z.array(NonNeg),
});

// ---- Case 11: a fleet of relays on PostgreSQL ----

/** One store's rates, one operation at a time. */
const StoreRates = z.strictObject({ hellosPerSecond: NonNeg, flowOpensPerSecond: NonNeg });

/** Case 11. */
export const FleetCase = z.strictObject({
  runs: Pos,
  /** kill -9 of the client's relay → first new connection answered through another relay. */
  failoverMs: Spread,
  /** Revoked through relay A's admin API → the token's session on relay C closed. */
  revocationMs: Spread,
  /** The same operations against a relay on Deno KV and a fleet relay on PostgreSQL. */
  store: z.strictObject({ kv: StoreRates, postgres: StoreRates }),
});
export type FleetCase = z.infer<typeof FleetCase>;

// ---- Case 12: the TCP transport (issue 17) ----

/** Paths of case 12: ztna over its TCP transport and over QUIC, and the baselines. */
export const TransportPathId = z.enum(["tcp", "quic", "pipe", "sshJ", "stunnel"]);
export type TransportPathId = z.infer<typeof TransportPathId>;

/** One repetition of one path of case 12 (the metrics of cases 1–2). */
export const TransportRep = TcpRep.extend({ path: TransportPathId });
export type TransportRep = z.infer<typeof TransportRep>;

/** A new connection through an already running path: milliseconds to its first echo byte. */
export const TransportFirstByte = z.strictObject({
  path: TransportPathId,
  rep: Pos,
  firstByteMs: Pos,
  /** Connection attempts until one was answered (1 = the first). */
  attempts: Pos,
});
export type TransportFirstByte = z.infer<typeof TransportFirstByte>;

/** The relay's memory with idle authenticated peers of one transport (a fresh relay each). */
export const TransportIdle = z.strictObject({
  transport: z.enum(["tcp", "quic"]),
  /** Peers asked for. */
  peers: Pos,
  /** Peers open and authenticated at the reading. */
  open: Count,
  failed: Count,
  /** Seconds it took to open them. */
  seconds: NonNeg,
  baseRssKiB: Pos,
  rssKiB: Pos,
  /** (RSS − base RSS) ÷ open peers. */
  kibPerPeer: Num,
  errors: z.record(z.string(), Count),
});
export type TransportIdle = z.infer<typeof TransportIdle>;

/** Case 12. */
export const TransportCase = z.strictObject({
  paths: z.array(z.strictObject({ id: TransportPathId, label: z.string() })).min(1),
  flows: Pos,
  runs: z.array(TransportRep).min(1),
  firstBytes: z.array(TransportFirstByte),
  summary: z.partialRecord(TransportPathId, TcpSummary.extend({ firstByteMs: Spread })),
  /** ztna over TCP ÷ each other path, paired per repetition. */
  ratios: z.array(RatioRow.extend({ baseline: TransportPathId, firstByteMs: Spread })),
  idle: z.array(TransportIdle),
});
export type TransportCase = z.infer<typeof TransportCase>;

/** Case ids for `--only`. */
export const CaseId = z.enum([
  "tcp",
  "ttfb",
  "relay",
  "udp",
  "sandbox",
  "direct",
  "recovery",
  "keepalive",
  "apps",
  "fleet",
  "transport",
]);
export type CaseId = z.infer<typeof CaseId>;

/** The options of a run, as recorded. */
export const RunOptions = z.strictObject({
  preset: z.enum(["full", "quick", "smoke"]),
  only: z.string(),
  reps: Pos,
  mib: Pos,
  rtts: Pos,
  warmup: Pos,
  flows: Pos,
  ttfb: Pos,
  handshakeSeconds: Pos,
  idle: z.array(Pos),
  udpPackets: Pos,
  udpSeconds: Pos,
  udpRampMs: Pos,
  install: z.boolean(),
  cpuProf: z.boolean(),
  /** Absent in results from before cases 8–10. */
  recoveryRuns: Pos.optional(),
  keepaliveIdle: z.array(Pos).optional(),
  appSeconds: Pos.optional(),
});

/** Everything one run writes. */
export const BenchResult = z.strictObject({
  schema: z.literal(2),
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  startedAt: z.string(),
  finishedAt: z.string(),
  measuredSeconds: Pos,
  /** The command line, as a reader would type it. */
  command: z.string(),
  machine: Machine,
  options: RunOptions,
  cases: z.array(CaseId),
  skipped: z.array(Skipped),
  tcp: TcpCase.optional(),
  ttfb: TtfbCase.optional(),
  relay: RelayCase.optional(),
  udp: UdpCase.optional(),
  sandbox: SandboxCase.optional(),
  direct: DirectCase.optional(),
  recovery: RecoveryCase.optional(),
  keepalive: KeepaliveCase.optional(),
  apps: AppsCase.optional(),
  fleet: FleetCase.optional(),
  transport: TransportCase.optional(),
  targets: z.array(Target),
  markdown: z.string(),
});
export type BenchResult = z.infer<typeof BenchResult>;
