/**
 * Folder-private test support: a scripted {@link RelayView} and a complete set of admin deps over
 * the in-memory store, so handler tests run in milliseconds without sockets or processes.
 * @module
 */
import { generateSigningKeyPair, importPrivateKey, type SigningKey } from "../auth/mod.ts";
import { MemoryStore } from "../store/mod.ts";
import { AdminAuthenticator, hashAdminToken } from "./admin_auth.ts";
import type { AdminDeps } from "./admin_context.ts";
import type { ConnectionInfo, FleetRelayInfo, RefusalInfo, ServiceInfo } from "./api_schemas.ts";
import type { MetricFamily } from "./prometheus.ts";
import type { RelayView } from "./relay_view.ts";

/** A relay whose state the test sets, recording what the admin API asked of it. */
export class FakeRelay implements RelayView {
  conns: ConnectionInfo[] = [];
  pools: ServiceInfo[] = [];
  refused: RefusalInfo[] = [];
  flows = 0;
  isListening = true;
  isDraining = false;
  readonly kicked: string[] = [];
  readonly revoked: string[] = [];
  families: MetricFamily[] = [];
  relays: FleetRelayInfo[] = [];

  connections(): ConnectionInfo[] {
    return this.conns.map((c) => ({ ...c }));
  }
  services(): ServiceInfo[] {
    return this.pools.map((s) => ({ ...s, members: [...s.members] }));
  }
  refusals(limit: number): RefusalInfo[] {
    return this.refused.slice(0, limit);
  }
  refusalsTotal(): number {
    return this.refused.length;
  }
  activeFlows(): number {
    return this.flows;
  }
  kick(connId: string): { identity: string } | undefined {
    const conn = this.conns.find((c) => c.connId === connId);
    if (conn === undefined) return undefined;
    this.kicked.push(connId);
    this.conns = this.conns.filter((c) => c !== conn);
    return { identity: conn.identity };
  }
  revoke(tokenId: string): number {
    this.revoked.push(tokenId);
    const before = this.conns.length;
    this.conns = this.conns.filter((c) => c.tokenId !== tokenId);
    return before - this.conns.length;
  }
  metricFamilies(): MetricFamily[] {
    return this.families;
  }
  listening(): boolean {
    return this.isListening;
  }
  draining(): boolean {
    return this.isDraining;
  }
  fleet(): FleetRelayInfo[] {
    return this.relays.map((r) => ({ ...r, addresses: [...r.addresses] }));
  }
}

/** A client connection as the relay would list it. */
export function connection(overrides: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return {
    connId: "0a1b2c3d",
    identity: "alice",
    role: "client",
    remote: "127.0.0.1:50000",
    services: [],
    path: "relay",
    transport: "quic",
    bytesIn: 100,
    bytesOut: 2_000,
    activeFlows: 0,
    since: T0 - 60_000,
    tokenId: "aliceTokenId0000000000",
    ...overrides,
  };
}

/** The fixed clock of admin tests. */
export const T0 = Date.UTC(2030, 0, 1);

/** The admin token the test deps accept. */
export const ADMIN_TOKEN = "ztna_admin_test-token-0000000000000000000000000000";

let signing: { key: SigningKey; publicPem: string } | undefined;

/** One Ed25519 key per test run (generation is the slow part). */
export async function testSigningKey(): Promise<{ key: SigningKey; publicPem: string }> {
  if (signing === undefined) {
    const pair = await generateSigningKeyPair();
    signing = { key: await importPrivateKey(pair.privatePem), publicPem: pair.publicPem };
  }
  return signing;
}

/** Deps over a fake relay and a memory store; `signingKey: false` leaves issuing disabled. */
export async function testDeps(
  options: { signingKey?: boolean; metricsPublic?: boolean } = {},
): Promise<AdminDeps & { relay: FakeRelay; store: MemoryStore; clock: { now: number } }> {
  const auth = new AdminAuthenticator();
  auth.setSource("config", [{ hash: await hashAdminToken(ADMIN_TOKEN) }]);
  const clock = { now: T0 };
  const key = options.signingKey === false ? undefined : (await testSigningKey()).key;
  return {
    relay: new FakeRelay(),
    store: new MemoryStore(),
    auth,
    ...(key === undefined ? {} : { signingKey: key }),
    metricsPublic: options.metricsPublic ?? false,
    certificate: () => ({ notBeforeMs: T0 - 86_400_000, notAfterMs: T0 + 86_400_000 }),
    now: () => clock.now,
    clock,
  };
}
