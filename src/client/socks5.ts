/**
 * SOCKS5 (RFC 1928) wire format for the client's proxy endpoint: the greeting, the request and the
 * reply. Pure: no I/O. "Need more bytes" is a state; malformed input is an error with the reply code
 * to send, never an exception.
 * @module
 */

/** SOCKS5 reply codes (RFC 1928, section 6) the endpoint sends. */
export const SOCKS_REPLY = {
  succeeded: 0x00,
  general_failure: 0x01,
  not_allowed: 0x02,
  network_unreachable: 0x03,
  host_unreachable: 0x04,
  connection_refused: 0x05,
  ttl_expired: 0x06,
  command_not_supported: 0x07,
  address_type_not_supported: 0x08,
} as const;
export type SocksReplyCode = (typeof SOCKS_REPLY)[keyof typeof SOCKS_REPLY];

/** The method "no authentication required" and the answer "no acceptable methods". */
export const SOCKS_NO_AUTH = 0x00;
export const SOCKS_NO_ACCEPTABLE = 0xff;
/** The method "username/password" (RFC 1929). */
export const SOCKS_USER_PASS = 0x02;

/** Result of {@link parseUserPass}. */
export type UserPass =
  | { kind: "userpass"; username: string; password: string; used: number }
  | { kind: "incomplete" }
  | { kind: "error"; why: string };

/**
 * Parses RFC 1929's request `VER=1 ULEN UNAME PLEN PASSWD`. Names and passwords are bytes on the
 * wire; they are decoded as UTF-8 (invalid bytes never match a configured text).
 */
export function parseUserPass(buf: Uint8Array): UserPass {
  if (buf.byteLength < 2) return { kind: "incomplete" };
  if (buf[0] !== 1) return { kind: "error", why: `username/password version ${buf[0]} is not 1` };
  const ulen = buf[1];
  if (ulen === 0) return { kind: "error", why: "empty user name" };
  if (buf.byteLength < 2 + ulen + 1) return { kind: "incomplete" };
  const plen = buf[2 + ulen];
  if (plen === 0) return { kind: "error", why: "empty password" };
  const used = 2 + ulen + 1 + plen;
  if (buf.byteLength < used) return { kind: "incomplete" };
  const text = new TextDecoder();
  return {
    kind: "userpass",
    username: text.decode(buf.subarray(2, 2 + ulen)),
    password: text.decode(buf.subarray(3 + ulen, used)),
    used,
  };
}

/** RFC 1929's answer: `VER=1 STATUS` (0 = success; anything else and the server closes). */
export function userPassReply(ok: boolean): Uint8Array {
  return Uint8Array.of(1, ok ? 0 : 1);
}

/** SOCKS5 commands. */
export const SOCKS_CMD = { connect: 0x01, bind: 0x02, udp_associate: 0x03 } as const;

/** Result of {@link parseGreeting}. */
export type Greeting =
  | { kind: "greeting"; methods: number[]; used: number }
  | { kind: "incomplete" }
  | { kind: "error"; why: string };

/** Parses `VER NMETHODS METHODS…`. */
export function parseGreeting(buf: Uint8Array): Greeting {
  if (buf.byteLength < 2) return { kind: "incomplete" };
  if (buf[0] !== 5) return { kind: "error", why: `version ${buf[0]} is not SOCKS5` };
  const n = buf[1];
  if (n === 0) return { kind: "error", why: "no authentication methods offered" };
  if (buf.byteLength < 2 + n) return { kind: "incomplete" };
  return { kind: "greeting", methods: [...buf.subarray(2, 2 + n)], used: 2 + n };
}

/** Result of {@link parseRequest}. */
export type SocksRequest =
  | { kind: "request"; command: number; host: string; port: number; used: number }
  | { kind: "incomplete" }
  | { kind: "error"; code: SocksReplyCode; why: string };

/** Parses `VER CMD RSV ATYP DST.ADDR DST.PORT`; a domain name is returned lower-cased. */
export function parseRequest(buf: Uint8Array): SocksRequest {
  if (buf.byteLength < 4) return { kind: "incomplete" };
  if (buf[0] !== 5) {
    return { kind: "error", code: SOCKS_REPLY.general_failure, why: "not SOCKS5" };
  }
  if (buf[2] !== 0) {
    return { kind: "error", code: SOCKS_REPLY.general_failure, why: "reserved byte is not 0" };
  }
  const command = buf[1];
  let host: string;
  let at: number;
  switch (buf[3]) {
    case 1: // IPv4
      if (buf.byteLength < 4 + 4 + 2) return { kind: "incomplete" };
      host = [...buf.subarray(4, 8)].join(".");
      at = 8;
      break;
    case 3: { // domain name
      if (buf.byteLength < 5) return { kind: "incomplete" };
      const len = buf[4];
      if (len === 0) {
        return { kind: "error", code: SOCKS_REPLY.host_unreachable, why: "empty domain name" };
      }
      if (buf.byteLength < 5 + len + 2) return { kind: "incomplete" };
      try {
        host = new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(5, 5 + len))
          .toLowerCase();
      } catch {
        return { kind: "error", code: SOCKS_REPLY.host_unreachable, why: "domain is not UTF-8" };
      }
      at = 5 + len;
      break;
    }
    case 4: { // IPv6
      if (buf.byteLength < 4 + 16 + 2) return { kind: "incomplete" };
      const v = new DataView(buf.buffer, buf.byteOffset + 4, 16);
      const parts: string[] = [];
      for (let i = 0; i < 8; i++) parts.push(v.getUint16(i * 2).toString(16));
      host = parts.join(":");
      at = 20;
      break;
    }
    default:
      return {
        kind: "error",
        code: SOCKS_REPLY.address_type_not_supported,
        why: `address type ${buf[3]}`,
      };
  }
  const port = (buf[at] << 8) | buf[at + 1];
  return { kind: "request", command, host, port, used: at + 2 };
}

/** A reply with `code` and a zero IPv4 bound address (clients of CONNECT ignore it). */
export function socksReply(
  code: SocksReplyCode,
  bound?: { ip: number[]; port: number },
): Uint8Array {
  const ip = bound?.ip ?? [0, 0, 0, 0];
  const port = bound?.port ?? 0;
  return Uint8Array.of(5, code, 0, 1, ...ip, port >> 8, port & 0xff);
}

/** Result of {@link parseUdpHeader}. */
export type SocksUdpDatagram =
  | {
    kind: "datagram";
    frag: number;
    host: string;
    port: number;
    header: Uint8Array;
    data: Uint8Array;
  }
  | { kind: "error"; why: string };

/**
 * Parses a UDP ASSOCIATE datagram (RFC 1928, section 7): `RSV(2) FRAG ATYP DST.ADDR DST.PORT DATA`.
 * `header` is everything before DATA: replies carry it back unchanged (their origin is the target
 * the client named).
 */
export function parseUdpHeader(buf: Uint8Array): SocksUdpDatagram {
  if (buf.byteLength < 4) return { kind: "error", why: "shorter than a SOCKS5 UDP header" };
  if (buf[0] !== 0 || buf[1] !== 0) return { kind: "error", why: "reserved bytes are not 0" };
  // The address part has the layout of a request's: reuse its parser on VER CMD RSV ATYP….
  const asRequest = new Uint8Array(buf.byteLength);
  asRequest.set(buf);
  asRequest[0] = 5;
  asRequest[1] = SOCKS_CMD.udp_associate;
  asRequest[2] = 0;
  const r = parseRequest(asRequest);
  if (r.kind === "incomplete") return { kind: "error", why: "truncated address" };
  if (r.kind === "error") return { kind: "error", why: r.why };
  return {
    kind: "datagram",
    frag: buf[2],
    host: r.host,
    port: r.port,
    header: buf.slice(0, r.used),
    data: buf.subarray(r.used),
  };
}
