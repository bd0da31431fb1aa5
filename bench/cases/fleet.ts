/**
 * Case 11: a fleet of three relays on one PostgreSQL (issue 16), with the shipped keep-alive, idle
 * timeouts and backoff on the client and connector (the fleet heartbeat at 500 ms, expiry 2 s):
 * - failover: the client (configured with relay A, learning B and C) uses one relay; that relay is
 *   killed (`kill -9`) under a stream of new connections; the time from the kill to the first one
 *   that succeeds through another relay, then the killed relay is started again on its port;
 * - revocation: a token revoked through relay A's admin API, the time until its session on relay
 *   C is closed (`token_revoked`), pushed by NOTIFY;
 * - store cost: HELLOs per second (one at a time: QUIC handshake, token check) and flow opens per
 *   second (one new TCP connection and HTTP request at a time through the client) against a relay
 *   on the embedded Deno KV store and a fleet relay on PostgreSQL, in the same run.
 * Runs: `--recovery-runs` (as case 8). The bounds are checked in CI by tests/e2e/fleet_*_test.ts.
 * @module
 */
import { adminCall } from "../../tests/_helpers/admin_http.ts";
import {
  backendBehind,
  freeTcpPort,
  freeUdpPort,
  httpBackend,
} from "../../tests/_helpers/cluster.ts";
import { startPostgres } from "../../tests/_helpers/postgres.ts";
import { closedWith, rawHello, rawSession } from "../../tests/_helpers/raw_peer.ts";
import type { ZtnaProcess } from "../../tests/_helpers/ztna_process.ts";
import type { Lab } from "../lab.ts";
import type { BenchOptions } from "../options.ts";
import type { FleetCase } from "../results_schema.ts";
import { spread } from "../stats.ts";

const SHIPPED = { shippedTimers: true } as const;
/** Pause between new connections while waiting for the first success after a kill. */
const PAUSE_MS = 20;
/** Bound of one failover: past it the run fails (the e2e bound is 5 s). */
const FAILOVER_BOUND_MS = 20_000;
/** Bound of the fleet becoming whole again after a restart. */
const WHOLE_BOUND_MS = 20_000;

/** The relay port the client last connected to. */
function clientRelay(client: ZtnaProcess): number {
  const all = [...client.output.matchAll(/Connected to relay "?127\.0\.0\.1:(\d+)/g)];
  const last = all.at(-1);
  if (!last) throw new Error("Fleet case: the client never connected");
  return Number(last[1]);
}

/** Waits until `re` matched `n` times in `p`'s output. */
async function matches(p: ZtnaProcess, re: RegExp, n: number, boundMs: number): Promise<void> {
  const until = performance.now() + boundMs;
  while ([...p.output.matchAll(re)].length < n) {
    if (performance.now() > until) throw new Error(`Fleet case: ${p.name} never showed ${re}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Operations per second of `op`, one at a time, for `seconds`. */
async function rate(op: () => Promise<unknown>, seconds: number): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < seconds * 1_000) {
    await op();
    n++;
  }
  return n / ((performance.now() - t0) / 1_000);
}

/** Runs case 11. */
export async function runFleetCase(
  lab: Lab,
  options: BenchOptions,
  ctx: { signal: AbortSignal; log: (line: string) => void },
): Promise<FleetCase> {
  const { fx } = lab;
  const { log, signal } = ctx;
  const backend = httpBackend("web");
  const db = await startPostgres();
  try {
    await db.createDatabase("fleetbench");
    const passwordFile = `${fx.dir}/fleet-db-password`;
    await Deno.writeTextFile(passwordFile, db.password, { mode: 0o600 });
    const caFile = `${fx.dir}/fleet-db-ca.pem`;
    await Deno.writeTextFile(caFile, db.caPem);
    const relayToml = (port: number, name: string) =>
      `state_dir = "${fx.dir}/fleet-${name}"\n` +
      `store = { kind = "postgres", url = "${db.url("fleetbench")}", ` +
      `password_file = "${passwordFile}", ca = "${caFile}" }\n` +
      `fleet = { advertise = [{ address = "127.0.0.1:${port}", server_name = "localhost" }], ` +
      `heartbeat_ms = 500, expiry_ms = 2000 }`;
    const ports = [freeUdpPort(), freeUdpPort(), freeUdpPort()];
    const names = ["a", "b", "c"];
    const a = await fx.adminRelay(ports[0], {
      admin: `token_signing_key = "${await fx.signingKeyFile()}"`,
      extra: relayToml(ports[0], "a"),
    });
    const relays = new Map<number, ZtnaProcess>([[ports[0], a.relay]]);
    for (const i of [1, 2]) {
      relays.set(ports[i], await fx.relay(ports[i], relayToml(ports[i], names[i])));
    }
    const learn = `learn_relays = ["127.0.0.0/8"]`;
    const connector = await fx.connector(
      [ports[2]],
      { web: `127.0.0.1:${backend.port}` },
      (await fx.token("connector")).path,
      { ...SHIPPED, extra: learn },
    );
    await matches(connector, /Registered service web/g, 3, WHOLE_BOUND_MS);
    const local = freeTcpPort();
    const client = await fx.client(
      [ports[0]],
      { [`127.0.0.1:${local}`]: "web" },
      (await fx.token("client")).path,
      { ...SHIPPED, extra: `direct = false\n${learn}\nrelay_wait_ms = 10000` },
    );
    await matches(client, /Relays learnt from the fleet: \S+,\S+/g, 1, WHOLE_BOUND_MS);
    const caPem = await Deno.readTextFile(fx.pki.caCertPath);

    // Store cost: the same client path and HELLOs on a relay of its own on Deno KV.
    const kvPort = freeUdpPort();
    await fx.relay(kvPort, `state_dir = "${fx.dir}/fleet-kv"`);
    const kvConnector = await fx.connector(
      [kvPort],
      { web: `127.0.0.1:${backend.port}` },
      (await fx.token("connector")).path,
      SHIPPED,
    );
    void kvConnector;
    const kvLocal = freeTcpPort();
    await fx.client(
      [kvPort],
      { [`127.0.0.1:${kvLocal}`]: "web" },
      (await fx.token("client")).path,
      { ...SHIPPED, extra: "direct = false" },
    );
    const helloToken = (await fx.token("client")).token;
    const seconds = options.handshakeSeconds;
    const store = {
      kv: {
        hellosPerSecond: await rate(
          () => rawHello(kvPort, fx.pki.caCertPath, "client", helloToken),
          seconds,
        ),
        flowOpensPerSecond: await rate(() => backendBehind(kvLocal), seconds),
      },
      postgres: {
        hellosPerSecond: await rate(
          () => rawHello(ports[0], fx.pki.caCertPath, "client", helloToken),
          seconds,
        ),
        flowOpensPerSecond: await rate(() => backendBehind(local), seconds),
      },
    };
    log(`fleet store cost: ${JSON.stringify(store)}`);

    // Revocation across the fleet: revoked on A, closed on C.
    const revocationMs: number[] = [];
    for (let run = 1; run <= options.recoveryRuns; run++) {
      signal.throwIfAborted();
      const issued = await adminCall(a.url, "/api/v1/tokens", {
        token: a.adminToken,
        body: { subject: `bench-${run}`, role: "client", services: ["web"], ttlSeconds: 600 },
      });
      const { token, credential } = issued.json() as {
        token: string;
        credential: { tokenId: string };
      };
      const session = await rawSession(ports[2], caPem, token);
      const t0 = performance.now();
      await adminCall(a.url, "/api/v1/tokens/revoke", {
        token: a.adminToken,
        body: { tokenId: credential.tokenId },
      });
      const code = await closedWith(session.conn, 10_000);
      if (code !== "token_revoked") throw new Error(`Fleet case: the session on C ended ${code}`);
      revocationMs.push(performance.now() - t0);
    }

    // Failover: kill -9 the client's relay (never A, whose admin API the revocations used:
    // they are done), measure, start it again.
    const failoverMs: number[] = [];
    let registered = 3;
    for (let run = 1; run <= options.recoveryRuns; run++) {
      signal.throwIfAborted();
      const port = clientRelay(client);
      const victim = relays.get(port);
      if (!victim) throw new Error(`Fleet case: the client uses an unknown relay ${port}`);
      const killedAt = performance.now();
      victim.kill("SIGKILL");
      await victim.done;
      let firstMs: number | undefined;
      while (firstMs === undefined) {
        if (performance.now() - killedAt > FAILOVER_BOUND_MS) {
          throw new Error(`Fleet case: no connection succeeded within ${FAILOVER_BOUND_MS} ms`);
        }
        try {
          if (await backendBehind(local) === "web") firstMs = performance.now() - killedAt;
        } catch { /* a failed connection: the next one */ }
        await new Promise((r) => setTimeout(r, PAUSE_MS));
      }
      failoverMs.push(firstMs);
      log(
        `fleet failover run ${run}: first new connection ${Math.round(firstMs)} ms after kill -9`,
      );
      const name = names[ports.indexOf(port)];
      const again = port === ports[0]
        ? (await fx.adminRelay(port, { extra: relayToml(port, `${name}-${run}`) })).relay
        : await fx.relay(port, relayToml(port, `${name}-${run}`));
      relays.set(port, again);
      registered++;
      await matches(connector, /Registered service web/g, registered, WHOLE_BOUND_MS);
    }
    return {
      runs: options.recoveryRuns,
      failoverMs: spread(failoverMs),
      revocationMs: spread(revocationMs),
      store,
    };
  } finally {
    await backend.shutdown();
    await db.stop().catch((e) => log(`fleet case: stopping PostgreSQL failed: ${e}`));
  }
}
