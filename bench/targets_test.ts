/**
 * Unit tests of the recovery targets (case 8, issue 15's bounds): a failure from +1 s on with a
 * pool of two, or one slow first success after a restart, is a MISS.
 * @module
 */
import assert from "node:assert/strict";
import type { RecoveryCase, RecoveryRun } from "./results_schema.ts";
import { judgeTargets } from "./targets.ts";

function run(scenario: RecoveryRun["scenario"], firstSuccessMs: number, lastFailureMs?: number) {
  const r: RecoveryRun = {
    scenario,
    run: 1,
    firstSuccessMs,
    attempts: 10,
    failed: 0,
    slowestMs: 1,
  };
  if (lastFailureMs !== undefined) Object.assign(r, { failed: 1, lastFailureMs });
  return r;
}

function verdicts(runs: RecoveryRun[]): string[] {
  const recovery: RecoveryCase = { runs, summary: {} };
  return judgeTargets({ recovery }).map((t) => `${t.result} ${t.shown}`);
}

Deno.test("recovery targets pass within issue 15's bounds", () => {
  assert.deepEqual(
    verdicts([
      run("poolMember", 20, 900),
      run("poolMemberStopped", 20),
      run("onlyConnector", 2_900),
      run("relay", 4_900),
    ]),
    ["PASS 0 of 1", "PASS 0 of 1", "PASS 2,900", "PASS 4,900"],
  );
});

Deno.test("recovery targets miss on a late failure or one slow restart", () => {
  assert.deepEqual(
    verdicts([
      run("poolMember", 20, 1_200),
      run("onlyConnector", 2_000),
      run("onlyConnector", 3_100),
      run("relay", 5_000),
    ]),
    ["MISS 1 of 1", "MISS 3,100", "MISS 5,000"],
  );
});
