/**
 * Tests of the policy evaluator: matching by identity, group (the provider's and local ones),
 * service, time window and source network; deny wins; the rule named; and property tests that deny
 * always wins, the outcome does not depend on rule order, and rules only add what their kind says.
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { compilePolicy, evaluate, type Policy } from "./evaluate.ts";
import { PolicyFile } from "./policy_file.ts";

/** Monday 2026-03-02, 10:00 UTC. */
const MON_10 = Date.UTC(2026, 2, 2, 10, 0);

function policy(input: unknown): Policy {
  return compilePolicy(PolicyFile.parse(input));
}

const base = policy({
  groups: { ops: ["carol"] },
  allow: [
    { name: "eng-web", groups: ["engineering"], services: ["web"] },
    { name: "ops-all", groups: ["ops"], services: ["*"] },
    { name: "bot-ci", identities: ["ci-bot"], services: ["git"] },
  ],
  deny: [{ name: "no-db-contractors", groups: ["contractors"], services: ["db"] }],
});

Deno.test("evaluate() allows by group and names the rule", () => {
  const d = evaluate(base, { identity: "alice", groups: ["engineering"] }, "web", {
    nowMs: MON_10,
  });
  assert.deepEqual([d.allow, d.rule], [true, "eng-web"]);
  assert.match(d.why, /group "engineering"/);
});

Deno.test("evaluate() denies with no rule when nothing grants", () => {
  const d = evaluate(base, { identity: "alice", groups: ["engineering"] }, "db", { nowMs: MON_10 });
  assert.deepEqual([d.allow, d.rule], [false, undefined]);
  assert.match(d.why, /^no grant: no allow rule grants "db" to "alice" \(groups: engineering\)/);
});

Deno.test("evaluate() takes local groups and identities", () => {
  assert.equal(
    evaluate(base, { identity: "carol", groups: [] }, "db", { nowMs: MON_10 }).rule,
    "ops-all",
  );
  assert.equal(
    evaluate(base, { identity: "ci-bot", groups: [] }, "git", { nowMs: MON_10 }).allow,
    true,
  );
  assert.equal(
    evaluate(base, { identity: "ci-bot", groups: [] }, "web", { nowMs: MON_10 }).allow,
    false,
  );
});

Deno.test("evaluate() lets a matching deny win over an allow", () => {
  const d = evaluate(base, { identity: "carol", groups: ["contractors"] }, "db", { nowMs: MON_10 });
  assert.deepEqual([d.allow, d.rule], [false, "no-db-contractors"]);
  assert.match(d.why, /deny rule "no-db-contractors" matches group "contractors"/);
});

Deno.test("evaluate() applies time windows in their zone, wrapping past midnight", () => {
  const p = policy({
    allow: [
      {
        name: "office",
        identities: ["*"],
        services: ["web"],
        when: {
          days: ["mon", "tue", "wed", "thu", "fri"],
          hours: "08:00-18:00",
          time_zone: "Europe/Berlin",
        },
      },
      { name: "night", identities: ["*"], services: ["backup"], when: { hours: "22:00-06:00" } },
    ],
  });
  const at = (ms: number, service = "web") =>
    evaluate(p, { identity: "x", groups: [] }, service, { nowMs: ms }).allow;
  assert.equal(at(MON_10), true); // 11:00 in Berlin
  assert.equal(at(Date.UTC(2026, 2, 2, 17, 0)), false); // 18:00 in Berlin: end is exclusive
  assert.equal(at(Date.UTC(2026, 2, 2, 6, 59)), false); // 07:59 in Berlin
  assert.equal(at(Date.UTC(2026, 2, 7, 10, 0)), false); // Saturday
  assert.equal(at(Date.UTC(2026, 2, 2, 23, 0), "backup"), true);
  assert.equal(at(Date.UTC(2026, 2, 2, 5, 59), "backup"), true);
  assert.equal(at(Date.UTC(2026, 2, 2, 6, 0), "backup"), false);
});

Deno.test("evaluate() checks source networks and fails closed on an unknown source", () => {
  const p = policy({
    allow: [{
      name: "office-net",
      identities: ["*"],
      services: ["web"],
      when: { source: ["192.0.2.0/24", "2001:db8::/32"] },
    }],
    deny: [{
      name: "not-from-guest",
      identities: ["*"],
      services: ["*"],
      when: { source: ["198.51.100.0/24"] },
    }],
  });
  const from = (source: string | undefined, service = "web") =>
    evaluate(p, { identity: "x", groups: [] }, service, {
      nowMs: MON_10,
      ...(source === undefined ? {} : { source }),
    });
  assert.equal(from("192.0.2.7").allow, true);
  assert.equal(from("::ffff:192.0.2.7").allow, true);
  assert.equal(from("2001:db8:1::5").allow, true);
  assert.equal(from("203.0.113.1").allow, false);
  assert.equal(from(undefined).allow, false, "an allow with a source condition needs a source");
  assert.equal(from(undefined).rule, "not-from-guest", "a deny with a source condition applies");
  assert.equal(from("198.51.100.9").rule, "not-from-guest");
});

// ---- properties -------------------------------------------------------------------------------

const IDS = ["alice", "bob", "carol"];
const GROUPS = ["eng", "ops", "ext"];
const SERVICES = ["web", "db", "git"];

const arbRule = (i: number) =>
  fc.record({
    name: fc.constant(`r${i}`),
    identities: fc.subarray([...IDS, "*"]),
    groups: fc.subarray(GROUPS),
    services: fc.subarray([...SERVICES, "*"], { minLength: 1 }),
  }).filter((r) => r.identities.length + r.groups.length > 0);

const arbRules = (prefix: string) =>
  fc.integer({ min: 0, max: 5 }).chain((n) =>
    fc.tuple(...Array.from({ length: n }, (_, i) => arbRule(i)))
      .map((rules) => rules.map((r) => ({ ...r, name: `${prefix}${r.name}` })))
  );

const arbFile = fc.record({
  groups: fc.dictionary(fc.constantFrom(...GROUPS), fc.subarray(IDS)),
  allow: arbRules("a"),
  deny: arbRules("d"),
});

const arbAsk = fc.record({
  identity: fc.constantFrom(...IDS),
  groups: fc.subarray(GROUPS),
  service: fc.constantFrom(...SERVICES),
});

function decide(file: unknown, ask: { identity: string; groups: string[]; service: string }) {
  return evaluate(policy(file), ask, ask.service, { nowMs: MON_10 });
}

Deno.test("evaluate() property: a matching deny always wins, whatever the allows", () => {
  fc.assert(fc.property(arbFile, arbAsk, (file, ask) => {
    const withDeny = {
      ...file,
      deny: [...file.deny, { name: "zz", identities: [ask.identity], services: [ask.service] }],
    };
    const d = decide(withDeny, ask);
    assert.equal(d.allow, false);
  }));
});

Deno.test("evaluate() property: the outcome does not depend on rule order", () => {
  fc.assert(fc.property(arbFile, arbAsk, fc.func(fc.integer()), (file, ask, key) => {
    const shuffled = {
      ...file,
      allow: [...file.allow].sort((a, b) => key(a.name) - key(b.name)),
      deny: [...file.deny].sort((a, b) => key(a.name) - key(b.name)),
    };
    assert.equal(decide(shuffled, ask).allow, decide(file, ask).allow);
  }));
});

Deno.test("evaluate() property: an allow rule never takes access away, a deny never grants it", () => {
  fc.assert(fc.property(arbFile, arbAsk, arbRule(9), (file, ask, extra) => {
    const before = decide(file, ask).allow;
    const moreAllow = decide({ ...file, allow: [...file.allow, { ...extra, name: "xa" }] }, ask);
    const moreDeny = decide({ ...file, deny: [...file.deny, { ...extra, name: "xd" }] }, ask);
    if (before) assert.equal(moreAllow.allow, true);
    if (!before) assert.equal(moreDeny.allow, false);
  }));
});

Deno.test("evaluate() property: allowed only when some allow rule names the subject and service", () => {
  fc.assert(fc.property(arbFile, arbAsk, (file, ask) => {
    const d = decide(file, ask);
    if (!d.allow) return;
    const rule = file.allow.find((r) => r.name === d.rule);
    assert.ok(rule, "an allow names an allow rule");
    assert.ok(rule.services.includes(ask.service) || rule.services.includes("*"));
  }));
});

Deno.test("evaluate() property: an empty policy denies everything", () => {
  fc.assert(fc.property(arbAsk, (ask) => {
    assert.equal(decide({}, ask).allow, false);
  }));
});
