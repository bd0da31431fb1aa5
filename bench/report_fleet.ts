/**
 * The markdown of case 11 (a fleet of relays on PostgreSQL), for report.ts. Pure: no I/O.
 * @module
 */
import type { BenchResult } from "./results_schema.ts";
import type { Spread } from "./stats.ts";

type Input = Omit<BenchResult, "markdown">;

const n0 = (n: number) => Math.round(n).toString();
const n1 = (n: number) => n.toFixed(1);

function cell(s: Spread): string {
  return s.min === s.max ? n0(s.median) : `${n0(s.median)} (${n0(s.min)}–${n0(s.max)})`;
}

/** Case 11. */
export function fleetSection(r: Input): string[] {
  const f = r.fleet;
  if (!f) return [];
  const ratio = (pg: number, kv: number) => kv > 0 ? (pg / kv).toFixed(2) : "—";
  return [
    "### 11. A fleet of three relays on PostgreSQL",
    "",
    `${f.runs} runs; client configured with relay A (learning B and C), connector with C; ` +
    "shipped keep-alive and idle timeouts on client and connector, fleet heartbeat 500 ms. Cells: " +
    "median (min–max).",
    "",
    "| what | ms |",
    "|---|---:|",
    `| kill -9 of the client's relay → first new connection through another | ${
      cell(f.failoverMs)
    } |`,
    `| token revoked on relay A → its session on relay C closed | ${cell(f.revocationMs)} |`,
    "",
    "One operation at a time, same run:",
    "",
    "| store | HELLOs/s | flow opens/s |",
    "|---|---:|---:|",
    `| Deno KV (one relay) | ${n1(f.store.kv.hellosPerSecond)} | ${
      n1(f.store.kv.flowOpensPerSecond)
    } |`,
    `| PostgreSQL (fleet relay) | ${n1(f.store.postgres.hellosPerSecond)} | ${
      n1(f.store.postgres.flowOpensPerSecond)
    } |`,
    `| PostgreSQL ÷ KV | ${ratio(f.store.postgres.hellosPerSecond, f.store.kv.hellosPerSecond)} | ${
      ratio(f.store.postgres.flowOpensPerSecond, f.store.kv.flowOpensPerSecond)
    } |`,
    "",
  ];
}
