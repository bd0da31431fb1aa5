/**
 * Unit tests of case 10's readers: pgbench's and wrk's reports as these versions print them, and
 * the ratios to direct and to ssh -J.
 * @module
 */
import assert from "node:assert/strict";
import { appRatios, parsePgbench, parseWrk } from "./apps.ts";

const PGBENCH = `pgbench (17.6 (Debian 17.6-0+deb13u1))
transaction type: <builtin: select only>
scaling factor: 1
number of clients: 8
number of threads: 2
duration: 5 s
number of transactions actually processed: 31500
number of failed transactions: 2 (0.006%)
latency average = 1.254 ms
initial connection time = 21.104 ms
tps = 6380.112233 (without initial connection time)
`;

const WRK = `Running 5s test @ http://127.0.0.1:40000/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.01ms    3.10ms  50.00ms   95.00%
  Latency Distribution
     50%  850.00us
     75%    1.50ms
     90%    3.00ms
     99%    1.20s 
  140000 requests in 5.00s, 20.00MB read
  Socket errors: connect 0, read 3, write 0, timeout 1
  Non-2xx or 3xx responses: 2
Requests/sec:  28000.50
Transfer/sec:      4.00MB
`;

Deno.test("parsePgbench reads tps, average latency and failed transactions", () => {
  assert.deepEqual(parsePgbench(PGBENCH), { tps: 6380.112233, latencyMs: 1.254, errors: 2 });
  assert.throws(() => parsePgbench("connection refused"), /no tps/);
});

Deno.test("parseWrk reads the rate, p50 and p99 in ms whatever the unit, and every error", () => {
  assert.deepEqual(parseWrk(WRK), { tps: 28000.5, latencyMs: 0.85, p99Ms: 1200, errors: 6 });
  assert.throws(() => parseWrk("unable to connect"), /no rate/);
});

Deno.test("appRatios divides by direct and by ssh -J of the same workload", () => {
  const run = (path: "direct" | "ztna" | "sshJ", tps: number, latencyMs: number) => ({
    path,
    workload: "wrk" as const,
    tps,
    latencyMs,
    errors: 0,
  });
  const ratios = appRatios([run("direct", 100, 1), run("ztna", 50, 4), run("sshJ", 25, 8)]);
  const ztna = ratios.find((r) => r.path === "ztna");
  assert.deepEqual(ztna, {
    workload: "wrk",
    path: "ztna",
    tpsToDirect: 0.5,
    latencyToDirect: 4,
    tpsToSshJ: 2,
    latencyToSshJ: 0.5,
  });
});
