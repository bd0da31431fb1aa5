/**
 * Shared setup of the limit tests: a relay with its admin endpoint and the limits under test, an
 * honest connector and client through it, and the relay's /metrics read as labelled counters so a
 * test asserts by how much each one moved.
 * @module
 */
import assert from "node:assert/strict";
import { type ParsedSample, parsePrometheus, sampleValue } from "../../src/admin/mod.ts";
import { adminCall, eventually } from "./admin_http.ts";
import { backendBehind, Fixture, freeUdpPort } from "./cluster.ts";
import type { ZtnaProcess } from "./ztna_process.ts";

/** Options every test in tests/e2e/limits*_test.ts passes to Deno.test (real processes run on). */
export const LIMIT_TEST = { sanitizeOps: false, sanitizeResources: false };

/** One scrape of /metrics. */
export class Scrape {
  constructor(readonly samples: readonly ParsedSample[]) {}

  /** The sample of `name` with (at least) these labels; 0 when there is none. */
  get(name: string, labels: Record<string, string> = {}): number {
    return sampleValue(this.samples, name, labels) ?? 0;
  }

  /** How much `name{labels}` moved from `before` to this scrape. */
  since(before: Scrape, name: string, labels: Record<string, string> = {}): number {
    return this.get(name, labels) - before.get(name, labels);
  }

  /** Every label value of `name` that moved since `before`, with its change. */
  movedSince(before: Scrape, name: string): Record<string, number> {
    const moved: Record<string, number> = {};
    for (const s of this.samples) {
      if (s.name !== name) continue;
      const delta = s.value - before.get(name, s.labels);
      if (delta !== 0) moved[Object.values(s.labels).join(",")] = delta;
    }
    return moved;
  }
}

/** Reads a relay's /metrics through its admin endpoint. */
export async function scrapeMetrics(url: string, adminToken: string): Promise<Scrape> {
  const answer = await adminCall(url, "/metrics", { token: adminToken });
  assert.equal(answer.status, 200, answer.text);
  const parsed = parsePrometheus(answer.text);
  if (!parsed.ok) throw new Error(`malformed /metrics at line ${parsed.line}: ${parsed.problem}`);
  return new Scrape(parsed.samples);
}

/** A relay under test with an honest connector and client, both connected. */
export interface LimitedRelay {
  relay: ZtnaProcess;
  relayPort: number;
  /** The relay's CA as PEM, for raw peers. */
  caPem: string;
  /** The honest connector (serves `service` from the backend) and client (forwards `local`). */
  connector: ZtnaProcess;
  client: ZtnaProcess;
  local: number;
  /** Reads /metrics now. */
  scrape(): Promise<Scrape>;
  /** Waits until the gauge `name{labels}` reads `value` (e.g. connections the relay counts). */
  settle(name: string, labels: Record<string, string>, value: number): Promise<Scrape>;
  /** Fails unless the honest client gets an answer from the backend named `name` on a new flow. */
  honestServed(name?: string): Promise<void>;
}

/**
 * Starts a relay with `limits` (lines of `[intermediate.limits]`) and its admin endpoint, then an
 * honest connector serving `service` from `backendPort` and an honest client forwarding to it.
 */
export async function limitedRelay(
  fx: Fixture,
  backendPort: number,
  limits: string,
  options: {
    service?: string;
    connector?: Parameters<Fixture["connector"]>[3];
    client?: Parameters<Fixture["client"]>[3];
  } = {},
): Promise<LimitedRelay> {
  const relayPort = freeUdpPort();
  const { relay, url, adminToken } = await fx.adminRelay(relayPort, { limits });
  const { connector, client, local } = await fx.attach([relayPort], backendPort, options);
  const scrape = () => scrapeMetrics(url, adminToken);
  return {
    relay,
    relayPort,
    caPem: await Deno.readTextFile(fx.pki.caCertPath),
    connector,
    client,
    local,
    scrape,
    settle: (name, labels, value) =>
      eventually(`${name} ${JSON.stringify(labels)} = ${value}`, async () => {
        const s = await scrape();
        return s.get(name, labels) === value ? s : undefined;
      }),
    async honestServed(name = "honest") {
      assert.equal(await backendBehind(local), name, "the honest client is served");
    },
  };
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
