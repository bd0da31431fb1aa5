/**
 * Moving bytes over QUIC for the roles: dialing a relay with its certificate verified and the HELLO
 * exchange, staying connected with backoff, the control channel, stream reading, TCP flows over
 * streams, datagram queues and demultiplexing.
 * @module
 */
export { backoffDelay, type BackoffOptions } from "./backoff.ts";
export { ChunkReader, REUSED_READ_BYTES } from "./chunk_reader.ts";
export { ControlChannel } from "./control_channel.ts";
export { demuxDatagrams } from "./datagram_demux.ts";
export { DatagramQueue, type DatagramQueueOptions, SENDS_IN_FLIGHT } from "./datagram_queue.ts";
export {
  closeCodeOf,
  DialError,
  type DialFailure,
  type DialOptions,
  dialRelay,
  helloRelay,
  relayLabel,
  type RelaySession,
  type RelayTarget,
} from "./dial.ts";
export {
  type ByteStream,
  type LinkCloseInfo,
  type LinkTransport,
  linkTransport,
  type PeerLink,
} from "./peer_link.ts";
export { LINK_DATAGRAM_INBOX, LinkMain, type LinkMainOptions } from "./link_main.ts";
export {
  connByteStream,
  type ConnStreamOptions,
  readFirst,
  type StreamConn,
} from "./tls_stream.ts";
export {
  dialTcpLink,
  LinkRefused,
  MAX_OFFERS,
  openTls,
  TcpLink,
  type TcpLinkOptions,
} from "./tcp_link.ts";
export { type AttemptState, type ChoiceStep, chooseLink, probeDelayMs } from "./link_choice.ts";
export { connectRelay, dialLink, type LinkDialOptions, type TransportChoice } from "./link_dial.ts";
export { type ProxyPlan, proxyPlan } from "./http_proxy_choice.ts";
export { keepConnected, type KeepConnectedOptions, type SessionEnd, sleep } from "./reconnect.ts";
export { type RelaySessionOptions, runRelaySession } from "./relay_session.ts";
export { type ByteConn, type DirectionEnd, runTcpFlow, type TcpFlowResult } from "./tcp_flow.ts";
