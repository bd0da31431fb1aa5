/**
 * Access policy for people and machines: who may reach which service, decided centrally and changed
 * without re-issuing credentials. A TOML file of groups, allow and deny rules (deny wins) with
 * optional time and source-network conditions, and tests that must pass before it is used
 * ({@link loadPolicy}); {@link evaluate} answers one access with the rule that decided it.
 * Pure: no network, no disk, no clock.
 * @module
 */
export {
  compilePolicy,
  evaluate,
  groupsOf,
  type Policy,
  type PolicyContext,
  type PolicyDecision,
  ruleLabel,
  type Subject,
} from "./evaluate.ts";
export {
  formatKeyPath,
  type LoadedPolicy,
  loadPolicy,
  runPolicyTests,
  type TestFailure,
} from "./load_policy.ts";
export {
  ANY_IDENTITY,
  ANY_SERVICE,
  GroupName,
  NO_GRANT,
  PolicyFile,
  PolicyIdentity,
  PolicyTest,
  Rule,
} from "./policy_file.ts";
export { inNetwork, type Network, parseAddress, parseNetwork } from "./cidr.ts";
