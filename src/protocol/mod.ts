/**
 * The ztna-v2 wire protocol: constants, error codes, control messages, stream headers, data frames.
 * Pure: nothing here touches the network, the disk or the clock.
 * @module
 */
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./framing.ts";
export * from "./messages.ts";
export * from "./stream_header.ts";
export * from "./data_frames.ts";
export * from "./bytes.ts";
export * from "./datagram.ts";
export * from "./service_id.ts";
export * from "./address.ts";
export * from "./link_frames.ts";
