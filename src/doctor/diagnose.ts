/**
 * Runs every probe of `ztna doctor` and gathers the facts: per relay name resolution, QUIC (with
 * HELLO), TCP/TLS and the certificate; the NAT's mapping from one UDP socket seen by two relay
 * addresses; the broker's answer for a direct path; then the verdict.
 * @module
 */
import type { ProxySettings } from "../config/proxy_settings.ts";
import { formatHostPort, parseHostPort } from "../protocol/address.ts";
import { ERRORS } from "../protocol/mod.ts";
import type { ProxyCredentials } from "../protocol/proxy_url.ts";
import { proxyFor } from "../transport/http_proxy_choice.ts";
import { hostInterfaces } from "../p2p/mod.ts";
import type { RelaySession } from "../transport/mod.ts";
import { certificateChain } from "./certificate.ts";
import { checkDirect } from "./direct_check.ts";
import { natMapping, type Observation } from "./nat_mapping.ts";
import { resolveRelay } from "./probe_dns.ts";
import { probeQuic } from "./probe_quic.ts";
import { probeTcp } from "./probe_tcp.ts";
import type { DoctorFacts, DoctorReport, RelayFacts } from "./report.ts";
import { tokenFacts } from "./token_facts.ts";
import { verdict } from "./verdict.ts";

/** What the doctor checks: a dialer's relays, trust, token and proxy. */
export interface DoctorInput {
  role: "client" | "connector";
  /** The config file, or "command line". */
  configLabel: string;
  relays: ReadonlyArray<{ address: string; server_name?: string }>;
  caCerts?: string[];
  token: string;
  proxy: ProxySettings;
  credentials?: ProxyCredentials;
  /** `--service`: check a direct path to it, and that the token grants it. */
  service?: string;
  /** Deadline of each probe in milliseconds. */
  timeoutMs: number;
}

type Session = RelaySession<Deno.QuicConn>;

interface RelayRun {
  facts: RelayFacts;
  session?: Session;
  remote?: string;
}

/** Probes everything `input` names and returns the report with its verdict. */
export async function diagnose(input: DoctorInput, nowMs = Date.now()): Promise<DoctorReport> {
  const endpoint = new Deno.QuicEndpoint({ hostname: "0.0.0.0", port: 0 });
  const runs: RelayRun[] = [];
  try {
    runs.push(...await Promise.all(input.relays.map((r) => probeRelay(r, input, endpoint))));
    const observations = runs.flatMap((r) =>
      r.facts.quic?.ok && r.remote ? [{ relay: r.remote, observed: r.facts.quic.observed }] : []
    );
    observations.push(...await secondObservation(runs, observations, input, endpoint));
    const localAddresses = hostInterfaces().map((i) => i.address);
    const nat = natMapping(observations, endpoint.addr.port, localAddresses);
    const withSession = runs.find((r) => r.session !== undefined)?.session;
    const direct = input.service === undefined || input.role !== "client"
      ? null
      : withSession === undefined
      ? { service: input.service, possible: null, why: "no relay answered over QUIC" }
      : await checkDirect(withSession, input.service, {
        localPort: endpoint.addr.port,
        nat,
        timeoutMs: input.timeoutMs,
      });
    const settings = input.proxy;
    const facts: DoctorFacts = {
      role: input.role,
      config: input.configLabel,
      proxy: settings.proxy === undefined
        ? null
        : { url: settings.proxy, noProxy: [...settings.noProxy] },
      token: tokenFacts(input.token, nowMs),
      relays: runs.map((r) => r.facts),
      nat,
      direct,
    };
    return {
      version: 1,
      checkedAt: new Date(nowMs).toISOString(),
      ...facts,
      verdict: verdict(facts),
    };
  } finally {
    for (const r of runs) closeSession(r.session);
    endpoint.close();
  }
}

function closeSession(session: Session | undefined): void {
  try {
    session?.conn.close({ closeCode: ERRORS.going_away.wire, reason: "going_away" });
  } catch { /* already closed */ }
}

async function probeRelay(
  relay: { address: string; server_name?: string },
  input: DoctorInput,
  endpoint: Deno.QuicEndpoint,
): Promise<RelayRun> {
  const parsed = parseHostPort(relay.address);
  if (!parsed.ok) throw new RangeError(`Cannot probe relay: ${parsed.reason}`);
  const target = parsed.value;
  const serverName = relay.server_name ?? target.hostname;
  const proxy = proxyFor(input.proxy, target.hostname, target.port);
  const dialer = { timeoutMs: input.timeoutMs, caCerts: input.caCerts };
  const [dns, quic, tcp] = await Promise.all([
    resolveRelay(target.hostname, input.timeoutMs),
    // QUIC is UDP and cannot pass an HTTP proxy: a peer behind one dials TCP only, and so do we.
    proxy === undefined
      ? probeQuic(relay, { ...dialer, role: input.role, token: input.token, endpoint })
      : undefined,
    probeTcp(target, {
      ...dialer,
      role: input.role,
      token: input.token,
      serverName,
      proxy,
      credentials: input.credentials,
    }),
  ]);
  const certificate = tcp.state === "ok" && proxy === undefined
    ? await certificateChain(target, { ...dialer, serverName })
    : undefined;
  return {
    facts: {
      address: relay.address,
      serverName,
      dns,
      ...(quic === undefined ? {} : { quic: quic.facts }),
      tcp: tcp.state === "ok" && certificate ? { ...tcp, certificate } : tcp,
      ...(proxy === undefined ? {} : { proxy: proxy.url }),
    },
    ...(quic?.session ? { session: quic.session } : {}),
    ...(quic?.remote ? { remote: quic.remote } : {}),
  };
}

/**
 * With one relay address observed, a second address of the same relay (its name resolves to
 * several) gives the second observation the NAT's mapping needs.
 */
async function secondObservation(
  runs: readonly RelayRun[],
  observations: readonly Observation[],
  input: DoctorInput,
  endpoint: Deno.QuicEndpoint,
): Promise<Observation[]> {
  if (new Set(observations.map((o) => o.relay)).size !== 1) return [];
  const run = runs.find((r) => r.remote !== undefined && r.facts.quic?.ok);
  if (run === undefined || !run.facts.dns.ok) return [];
  const parsed = parseHostPort(run.facts.address);
  if (!parsed.ok) return [];
  const other = run.facts.dns.addresses.find((a) =>
    formatHostPort({ hostname: a, port: parsed.value.port }) !== run.remote && !a.includes(":")
  );
  if (other === undefined) return [];
  const address = formatHostPort({ hostname: other, port: parsed.value.port });
  const probe = await probeQuic({ address, server_name: run.facts.serverName }, {
    role: input.role,
    token: input.token,
    caCerts: input.caCerts,
    endpoint,
    timeoutMs: input.timeoutMs,
  });
  closeSession(probe.session);
  return probe.facts.ok && probe.remote
    ? [{ relay: probe.remote, observed: probe.facts.observed }]
    : [];
}
