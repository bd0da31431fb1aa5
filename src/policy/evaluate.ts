/**
 * The access decision: may this identity, with these groups, reach this service now, from there?
 * Pure: no I/O, no clock (the moment is an input).
 *
 * Semantics (docs/OPERATIONS.md, "Access policy"):
 * - An identity's groups are those its login brought (the identity provider's groups claim) plus
 *   every `[groups]` list of the file that names it.
 * - A rule matches when it names the identity (or `"*"`) or one of its groups, names the service
 *   (or `"*"`), and every condition in its `when` holds.
 * - Any matching deny rule denies: deny always wins. Otherwise any matching allow rule allows.
 *   Otherwise the answer is deny with no rule ("no grant"): nothing is allowed by default.
 * - The outcome never depends on the order of rules; only which rule is named does (the first
 *   matching deny, else the first matching allow, in file order).
 * - A condition on the source network is unknown when the address is: an allow rule then does not
 *   match and a deny rule does (fail closed both ways).
 * @module
 */
import { ANY_IDENTITY, ANY_SERVICE, type Conditions, type Day, NO_GRANT } from "./policy_file.ts";
import type { PolicyFile, Rule } from "./policy_file.ts";
import { inNetwork, parseAddress } from "./cidr.ts";

/** Who asks: an identity and the groups its credential carries. */
export interface Subject {
  identity: string;
  /** Groups from the identity provider (empty for machine tokens). */
  groups: readonly string[];
}

/** Where and when the decision is made. */
export interface PolicyContext {
  /** Milliseconds since the epoch. */
  nowMs: number;
  /** The peer's address as the relay sees it; undefined when unknown. */
  source?: string;
}

/** The answer, the rule that decided it (undefined: no rule granted) and why, for operators. */
export type PolicyDecision =
  | { allow: true; rule: string; why: string }
  | { allow: false; rule: string | undefined; why: string };

/** A validated policy, indexed for evaluation. */
export interface Policy {
  readonly file: PolicyFile;
  /** identity → the local groups that list it. */
  readonly localGroups: ReadonlyMap<string, readonly string[]>;
}

/** Indexes a validated policy file. */
export function compilePolicy(file: PolicyFile): Policy {
  const localGroups = new Map<string, string[]>();
  for (const [group, members] of Object.entries(file.groups)) {
    for (const member of members) {
      const list = localGroups.get(member) ?? [];
      if (!list.includes(group)) list.push(group);
      localGroups.set(member, list);
    }
  }
  return { file, localGroups };
}

/** The identity's groups: from its credential plus the file's local lists, without repeats. */
export function groupsOf(policy: Policy, subject: Subject): string[] {
  return [...new Set([...subject.groups, ...(policy.localGroups.get(subject.identity) ?? [])])];
}

const WEEKDAY: Record<string, Day> = {
  Mon: "mon",
  Tue: "tue",
  Wed: "wed",
  Thu: "thu",
  Fri: "fri",
  Sat: "sat",
  Sun: "sun",
};

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Day of the week and minute of the day of `ms` in `zone`. */
function localTime(ms: number, zone: string): { day: Day; minute: number } {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(zone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(ms).map((p) => [p.type, p.value]));
  return { day: WEEKDAY[parts.weekday], minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

/** Whether the conditions hold: true, false, or "unknown" (a source condition without a source). */
function conditionsHold(when: Conditions, ctx: PolicyContext): boolean | "unknown" {
  if (when.days || when.hours) {
    const { day, minute } = localTime(ctx.nowMs, when.time_zone);
    if (when.days && !when.days.includes(day)) return false;
    if (when.hours) {
      const { from, to } = when.hours;
      const inside = from < to ? minute >= from && minute < to : minute >= from || minute < to;
      if (!inside) return false;
    }
  }
  if (when.source) {
    const addr = ctx.source === undefined ? undefined : parseAddress(ctx.source);
    if (!addr) return "unknown";
    if (!when.source.some((n) => inNetwork(addr, n))) return false;
  }
  return true;
}

/** How a rule names the subject, for explanations; undefined when it does not. */
function whom(rule: Rule, identity: string, groups: readonly string[]): string | undefined {
  if (rule.identities.includes(identity)) return `identity "${identity}"`;
  const group = rule.groups.find((g) => groups.includes(g));
  if (group !== undefined) return `group "${group}"`;
  if (rule.identities.includes(ANY_IDENTITY)) return "everyone";
  return undefined;
}

function matches(
  rule: Rule,
  kind: "allow" | "deny",
  service: string,
  identity: string,
  groups: readonly string[],
  ctx: PolicyContext,
): string | undefined {
  if (!rule.services.includes(service) && !rule.services.includes(ANY_SERVICE)) return undefined;
  const who = whom(rule, identity, groups);
  if (who === undefined) return undefined;
  if (rule.when) {
    const held = conditionsHold(rule.when, ctx);
    // Unknown source: fail closed (an allow does not match, a deny does).
    if (held === false || (held === "unknown" && kind === "allow")) return undefined;
  }
  return who;
}

/** Decides one access; see the module doc for the semantics. */
export function evaluate(
  policy: Policy,
  subject: Subject,
  service: string,
  ctx: PolicyContext,
): PolicyDecision {
  const groups = groupsOf(policy, subject);
  for (const rule of policy.file.deny) {
    const who = matches(rule, "deny", service, subject.identity, groups, ctx);
    if (who !== undefined) {
      return { allow: false, rule: rule.name, why: `deny rule "${rule.name}" matches ${who}` };
    }
  }
  for (const rule of policy.file.allow) {
    const who = matches(rule, "allow", service, subject.identity, groups, ctx);
    if (who !== undefined) {
      return {
        allow: true,
        rule: rule.name,
        why: `allow rule "${rule.name}" grants "${service}" to ${who}`,
      };
    }
  }
  const shown = groups.length > 0 ? ` (groups: ${groups.join(", ")})` : " (no groups)";
  return {
    allow: false,
    rule: undefined,
    why: `${NO_GRANT}: no allow rule grants "${service}" to "${subject.identity}"${shown}`,
  };
}

/** The rule name as shown to operators: the rule's name, or "no grant". */
export function ruleLabel(decision: PolicyDecision): string {
  return decision.rule ?? NO_GRANT;
}
