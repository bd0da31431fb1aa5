/**
 * Tests of the access policy inside the relay's pure admission: the token's grant and the policy
 * must both allow, a policy refusal is `unauthorized` with the rule for operators only, and the
 * refusal observer carries the rule to the refusals list, the audit hook and the log line.
 * @module
 */
import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import type { Identity } from "../auth/mod.ts";
import { compilePolicy, evaluate, PolicyFile } from "../policy/mod.ts";
import { admitOpen } from "./admission.ts";
import { RefusalLog } from "./refusal_log.ts";
import type { RefusalEvent } from "./refusal_log.ts";
import { RefusalObserver } from "./refusal_observer.ts";
import { RelayMetrics } from "./relay_metrics.ts";

const NOW = 1_800_000_000_000;
const alice: Identity = {
  subject: "alice",
  role: "client",
  services: ["*"],
  tokenId: "tok-alice-0123456789",
  expiresAtMs: NOW + 60_000,
  groups: ["engineering"],
};
const policy = compilePolicy(PolicyFile.parse({
  allow: [{ name: "eng-web", groups: ["engineering"], services: ["web", "db"] }],
  deny: [{ name: "no-db", identities: ["alice"], services: ["db"] }],
}));
const decide = (who: Identity, service: string) =>
  evaluate(policy, { identity: who.subject, groups: who.groups ?? [] }, service, { nowMs: NOW });
const open = (who: Identity, service: string) =>
  admitOpen({
    identity: who,
    service,
    rateAllowed: true,
    invalid: undefined,
    nowMs: NOW,
    policy: decide(who, service),
  });

Deno.test("admitOpen() allows only what the token and the policy both allow", () => {
  assert.equal(open(alice, "web").allow, true);
  const denied = open(alice, "db");
  assert.ok(!denied.allow);
  assert.deepEqual([denied.code, denied.rule], ["unauthorized", "no-db"]);
  const noGrant = open(alice, "git");
  assert.ok(!noGrant.allow);
  assert.deepEqual([noGrant.code, noGrant.rule], ["unauthorized", "no grant"]);
  // A token without the service is refused by its grant, whatever the policy says.
  const narrow = open({ ...alice, services: ["db"] }, "web");
  assert.ok(!narrow.allow);
  assert.equal(narrow.rule, undefined);
});

Deno.test("admitOpen() without a policy decides as before (token grants alone)", () => {
  const d = admitOpen({
    identity: alice,
    service: "git",
    rateAllowed: true,
    invalid: undefined,
    nowMs: NOW,
  });
  assert.equal(d.allow, true);
});

Deno.test("RefusalObserver carries the rule to the refusals list and the audit hook, not without one", () => {
  const audited: RefusalEvent[] = [];
  const refusals = new RefusalLog();
  const observer = new RefusalObserver({
    metrics: new RelayMetrics(),
    refusals,
    log: getLogger(["ztna", "test"]),
    clock: () => NOW,
    audit: (e) => audited.push(e),
  });
  observer.refuse({
    code: "unauthorized",
    identity: "alice",
    service: "db",
    rule: "no-db",
    message: "x",
  });
  observer.refuse({ code: "limit_exceeded", identity: "alice", message: "y" });
  assert.deepEqual(refusals.recent().map((r) => r.rule), [undefined, "no-db"]);
  assert.deepEqual(audited.map((e) => [e.identity, e.service, e.rule]), [["alice", "db", "no-db"]]);
});
