/**
 * Direct (P2P) paths, both ends: the candidates a peer announces, the client's paths (ask the
 * relay's broker, punch, authenticate with its ticket, renew), and the connector's listener that
 * admits peers by ticket and hands their flows to the connector. The broker itself is the relay's
 * (src/relay/direct_broker.ts).
 * @module
 */
export {
  directCandidates,
  hostInterfaces,
  type InterfaceAddress,
  noteObserved,
} from "./candidates.ts";
export { DirectPaths, type DirectPathsOptions, renewalLeadMs } from "./direct_paths.ts";
export {
  type DirectConnFlows,
  type DirectFlow,
  type DirectFlowStream,
  DirectListener,
  type DirectListenerOptions,
} from "./direct_listener.ts";
export { MAX_REVOKED_IDS, type TicketAuthority } from "./path_tickets.ts";
