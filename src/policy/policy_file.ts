/**
 * The policy file's schema (zod, the single source of its types): groups, allow and deny rules with
 * optional conditions, and the tests that must pass before a policy is used. Validated like the
 * config: unknown keys are errors, every problem names its key. Pure: no I/O. Format and semantics:
 * docs/OPERATIONS.md, "Access policy".
 * @module
 */
import { z } from "zod";
import { ServiceId } from "../protocol/service_id.ts";
import { parseAddress, parseNetwork } from "./cidr.ts";

/** Every service. */
export const ANY_SERVICE = "*";
/** Every identity. */
export const ANY_IDENTITY = "*";

/** Rule names: short, printable, unique in a file; they appear in logs and explanations. */
export const RULE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._:@/-]{0,63}$/;

/** Identity and group names: 1 to 128 characters without control characters (they go in logs). */
const NAME_PATTERN = /^[^\p{C}]{1,128}$/u;

/** An identity (a token's subject, or the identity an OpenID Connect login maps to). */
export const PolicyIdentity = z.string().regex(
  NAME_PATTERN,
  "expected 1 to 128 characters without control characters",
);

/** A group name, from the identity provider's groups claim or the file's own `[groups]`. */
export const GroupName = z.string().regex(
  NAME_PATTERN,
  "expected a group name of 1 to 128 characters without control characters",
);

const ServiceRef = z.union([z.literal(ANY_SERVICE), ServiceId], {
  error: 'expected a service id matching ^[a-z0-9][a-z0-9._-]{0,62}$ or "*"',
});

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Day = (typeof DAYS)[number];

/** `HH:MM-HH:MM`, as minutes of the day; `to` before `from` wraps past midnight. */
const Hours = z.string().transform((text, ctx) => {
  const m = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/.exec(text);
  const from = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  const to = m ? Number(m[3]) * 60 + Number(m[4]) : NaN;
  if (!m || to > 24 * 60 || from === to) {
    ctx.addIssue({
      code: "custom",
      input: text,
      message: 'expected a window such as "08:00-18:00" (24:00 ends a day; from ≠ to)',
    });
    return z.NEVER;
  }
  return { from, to, text };
});

/** An IANA time zone Intl knows (checked once, at load). */
const TimeZone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, { message: 'expected an IANA time zone such as "UTC" or "Europe/Berlin"' });

const Cidr = z.string().transform((text, ctx) => {
  const network = parseNetwork(text);
  if (typeof network === "string") {
    ctx.addIssue({ code: "custom", input: text, message: network });
    return z.NEVER;
  }
  return network;
});

/** When a rule applies: every condition given must hold. */
export const Conditions = z.strictObject({
  /** Days of the week, in `time_zone`. */
  days: z.array(z.enum(DAYS)).min(1).optional(),
  /** Time of day, in `time_zone`: from inclusive, to exclusive. */
  hours: Hours.optional(),
  time_zone: TimeZone.default("UTC"),
  /** Networks the peer's address (as the relay sees it) must be in. */
  source: z.array(Cidr).min(1).max(1_000).optional(),
});
export type Conditions = z.output<typeof Conditions>;

/** One allow or deny rule. */
export const Rule = z.strictObject({
  name: z.string().regex(
    RULE_NAME_PATTERN,
    "expected a name of 1 to 64 letters, digits, spaces and ._:@/- starting with a letter or digit",
  ),
  description: z.string().max(500).optional(),
  /** Identities it applies to; `"*"` for everyone. */
  identities: z.array(z.union([z.literal(ANY_IDENTITY), PolicyIdentity])).max(10_000).default([]),
  /** Groups it applies to (any one suffices). */
  groups: z.array(GroupName).max(1_000).default([]),
  services: z.array(ServiceRef).min(1, "expected at least one service").max(1_000),
  when: Conditions.optional(),
}).refine((r) => r.identities.length > 0 || r.groups.length > 0, {
  message: 'expected identities or groups (or identities = ["*"] for everyone)',
  path: ["identities"],
});
export type Rule = z.output<typeof Rule>;

/** An ISO 8601 instant (TOML offset date-time, or a string). */
const Instant = z.union([z.date(), z.string()]).transform((v, ctx) => {
  const ms = v instanceof Date ? v.getTime() : Date.parse(v);
  if (!Number.isFinite(ms) || (typeof v === "string" && !/(Z|[+-]\d\d:\d\d)$/.test(v))) {
    ctx.addIssue({
      code: "custom",
      input: v,
      message: "expected a date-time with its offset, such as 2026-03-02T09:00:00Z",
    });
    return z.NEVER;
  }
  return ms;
});

/** Every rule's outcome when nothing grants access (`rule = "no grant"` in a test). */
export const NO_GRANT = "no grant";

/** An expected decision, checked at every load. */
export const PolicyTest = z.strictObject({
  identity: PolicyIdentity,
  /** Groups the identity provider says the identity has. */
  groups: z.array(GroupName).max(1_000).default([]),
  service: ServiceId,
  /** The peer's address; absent means unknown (allow rules with `source` do not match). */
  source: z.string().refine((s) => parseAddress(s) !== undefined, {
    message: "expected an IPv4 or IPv6 address",
  }).optional(),
  /** The moment of the decision; absent means the moment of loading. */
  at: Instant.optional(),
  expect: z.enum(["allow", "deny"]),
  /** The rule expected to decide, or "no grant". */
  rule: z.string().max(64).optional(),
});
export type PolicyTest = z.output<typeof PolicyTest>;

/** The whole policy file. */
export const PolicyFile = z.strictObject({
  /** Local groups: name → identities; added to the groups the identity provider sends. */
  groups: z.record(GroupName, z.array(PolicyIdentity).max(10_000)).default({}),
  allow: z.array(Rule).max(10_000).default([]),
  deny: z.array(Rule).max(10_000).default([]),
  test: z.array(PolicyTest).max(10_000).default([]),
}).superRefine((file, ctx) => {
  // Runs even when other keys have errors (see `when` below), so entries may be partly invalid.
  const names = new Map<string, string>();
  for (const kind of ["allow", "deny"] as const) {
    const rules: unknown = file[kind];
    if (!Array.isArray(rules)) continue;
    for (const [i, rule] of rules.entries()) {
      const name: unknown = rule?.name;
      if (typeof name !== "string") continue;
      const earlier = names.get(name);
      if (earlier) {
        ctx.addIssue({
          code: "custom",
          path: [kind, i, "name"],
          input: name,
          message: `duplicate rule name ${JSON.stringify(name)} (also ${earlier})`,
        });
      }
      names.set(name, `${kind}[${i}]`);
    }
  }
  const tests: unknown = file.test;
  if (!Array.isArray(tests)) return;
  for (const [i, test] of tests.entries()) {
    const rule: unknown = test?.rule;
    if (typeof rule === "string" && rule !== NO_GRANT && !names.has(rule)) {
      ctx.addIssue({
        code: "custom",
        path: ["test", i, "rule"],
        input: rule,
        message: `no rule is named ${JSON.stringify(rule)} (or write "${NO_GRANT}")`,
      });
    }
  }
}, { when: (payload) => typeof payload.value === "object" && payload.value !== null });
export type PolicyFile = z.output<typeof PolicyFile>;
