/**
 * QUIC v1 client Initial packets for the spoofed-flood bench: open (remove protection) and seal
 * (re-protect under a new Destination Connection ID) per RFC 9001 §5, and capture of a real Deno
 * client's first flight. Re-sealing one captured ClientHello under fresh random DCIDs is how a cheap
 * flooder makes every datagram a new connection attempt the server must answer with full TLS work.
 * @module
 */
import { createCipheriv, createDecipheriv } from "node:crypto";

/** RFC 9001 §5.2: the salt of QUIC version 1 Initial secrets. */
const INITIAL_SALT_V1 = hex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a");
const QUIC_V1 = 0x00000001;
const TAG_LENGTH = 16;
/** Our sealed packets always carry 4-byte packet numbers: the longest form, simplest to encode. */
const SEALED_PN_LENGTH = 4;

/** Protection keys of one direction of the Initial space. */
export interface InitialKeys {
  key: Uint8Array;
  iv: Uint8Array;
  hp: Uint8Array;
}

/** A client Initial with its protection removed. */
export interface OpenedInitial {
  dcid: Uint8Array;
  scid: Uint8Array;
  token: Uint8Array;
  packetNumber: number;
  /** Decrypted frames (CRYPTO, PADDING, …). */
  payload: Uint8Array;
}

/** Bytes of a hex string. */
export function hex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** SHA-256 round constants (FIPS 180-4 §4.2.2). */
const K256 = new Uint32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);
const schedule = new Uint32Array(64);

/**
 * SHA-256 in plain TypeScript. Deno 2.9.6's node:crypto costs ~44 µs per HMAC object, which made
 * sealing one Initial (5 HMACs) cost ~380 µs; this brings it to ~100 µs, so a flood's packets can be
 * prepared before it starts instead of competing with the relay for the CPU.
 */
export function sha256(data: Uint8Array): Uint8Array {
  const h = new Uint32Array([
    0x6a09e667,
    0xbb67ae85,
    0x3c6ef372,
    0xa54ff53a,
    0x510e527f,
    0x9b05688c,
    0x1f83d9ab,
    0x5be0cd19,
  ]);
  const total = ((data.length + 9 + 63) >> 6) << 6;
  const m = new Uint8Array(total);
  m.set(data);
  m[data.length] = 0x80;
  const view = new DataView(m.buffer);
  const bits = data.length * 8;
  view.setUint32(total - 8, Math.floor(bits / 2 ** 32));
  view.setUint32(total - 4, bits >>> 0);
  const w = schedule;
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + 4 * i);
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15];
      const y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let [a, b, c, d, e, f, g, k] = h;
    for (let i = 0; i < 64; i++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (k + s1 + ((e & f) ^ (~e & g)) + K256[i] + w[i]) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
  }
  const out = new Uint8Array(32);
  const o = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) o.setUint32(4 * i, h[i]);
  return out;
}

/** HMAC-SHA-256 (RFC 2104) for keys of at most one block, which is all QUIC Initials need. */
function hmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  const inner = new Uint8Array(64 + data.length);
  const outer = new Uint8Array(64 + 32);
  for (let i = 0; i < 64; i++) {
    inner[i] = (key[i] ?? 0) ^ 0x36;
    outer[i] = (key[i] ?? 0) ^ 0x5c;
  }
  inner.set(data, 64);
  outer.set(sha256(inner), 64);
  return sha256(outer);
}

/** RFC 8446 §7.1 HKDF-Expand-Label with an empty context; `length` ≤ 32 (one HMAC block). */
function expandLabel(secret: Uint8Array, label: string, length: number): Uint8Array {
  const full = new TextEncoder().encode(`tls13 ${label}`);
  const input = new Uint8Array(3 + full.length + 2);
  input.set([length >> 8, length & 0xff, full.length]);
  input.set(full, 3);
  input[input.length - 1] = 1; // after the empty context (0): T(1) = HMAC(secret, info || 0x01)
  return hmac(secret, input).subarray(0, length);
}

/** RFC 9001 §5.2: the client's Initial keys for a connection whose first DCID is `dcid`. */
export function clientInitialKeys(dcid: Uint8Array): InitialKeys {
  const initialSecret = hmac(INITIAL_SALT_V1, dcid);
  const client = expandLabel(initialSecret, "client in", 32);
  return {
    key: expandLabel(client, "quic key", 16),
    iv: expandLabel(client, "quic iv", 12),
    hp: expandLabel(client, "quic hp", 16),
  };
}

function headerMask(hp: Uint8Array, sample: Uint8Array): Uint8Array {
  const cipher = createCipheriv("aes-128-ecb", hp, null);
  cipher.setAutoPadding(false);
  return new Uint8Array(cipher.update(sample));
}

function nonce(iv: Uint8Array, packetNumber: number): Uint8Array {
  const n = iv.slice();
  for (let i = 0; i < 4; i++) n[11 - i] ^= (packetNumber >>> (8 * i)) & 0xff;
  return n;
}

/** Reads a QUIC variable-length integer at `at`; returns the value and its length in bytes. */
function readVarint(b: Uint8Array, at: number): { value: number; length: number } {
  if (at >= b.length) throw new RangeError("Cannot read a varint past the end of the packet");
  const length = 1 << (b[at] >> 6);
  if (at + length > b.length) throw new RangeError("Cannot read a varint: packet truncated");
  let value = b[at] & 0x3f;
  for (let i = 1; i < length; i++) value = value * 256 + b[at + i];
  return { value, length };
}

/**
 * Removes the protection of the client Initial at the start of `datagram` (coalesced packets after
 * it are ignored).
 * @throws {RangeError} when it is not a QUIC v1 Initial or does not decrypt
 */
export function openInitial(datagram: Uint8Array): OpenedInitial {
  const b = datagram.slice();
  if ((b[0] & 0xf0) !== 0xc0) throw new RangeError("Cannot open: not a long-header Initial");
  const version = new DataView(b.buffer).getUint32(1);
  if (version !== QUIC_V1) throw new RangeError(`Cannot open: version ${version} is not QUIC v1`);
  let at = 5;
  const dcid = b.slice(at + 1, at + 1 + b[at]);
  at += 1 + dcid.length;
  const scid = b.slice(at + 1, at + 1 + b[at]);
  at += 1 + scid.length;
  const tokenLength = readVarint(b, at);
  at += tokenLength.length;
  const token = b.slice(at, at + tokenLength.value);
  at += tokenLength.value;
  const length = readVarint(b, at);
  at += length.length;
  const pnOffset = at;
  if (pnOffset + length.value > b.length) throw new RangeError("Cannot open: packet truncated");
  const keys = clientInitialKeys(dcid);
  const mask = headerMask(keys.hp, b.subarray(pnOffset + 4, pnOffset + 4 + 16));
  b[0] ^= mask[0] & 0x0f;
  const pnLength = (b[0] & 0x03) + 1;
  let packetNumber = 0;
  for (let i = 0; i < pnLength; i++) {
    b[pnOffset + i] ^= mask[1 + i];
    packetNumber = packetNumber * 256 + b[pnOffset + i];
  }
  const end = pnOffset + length.value;
  const header = b.subarray(0, pnOffset + pnLength);
  const sealed = b.subarray(pnOffset + pnLength, end - TAG_LENGTH);
  const decipher = createDecipheriv("aes-128-gcm", keys.key, nonce(keys.iv, packetNumber));
  decipher.setAAD(header);
  decipher.setAuthTag(b.subarray(end - TAG_LENGTH, end));
  let payload: Uint8Array;
  try {
    const plain = decipher.update(sealed);
    decipher.final(); // throws when the tag does not match
    payload = new Uint8Array(plain);
  } catch (e) {
    throw new RangeError("Cannot open: the Initial does not decrypt", { cause: e });
  }
  return { dcid, scid, token, packetNumber, payload };
}

/**
 * Protects `payload` as a client Initial to `dcid` from `scid` (no token, 4-byte packet number),
 * appending PADDING frames (zero bytes) until the datagram is at least `padTo` bytes: servers drop
 * client Initials in datagrams under 1,200 bytes (RFC 9000 §14.1).
 */
export function sealInitial(
  dcid: Uint8Array,
  scid: Uint8Array,
  packetNumber: number,
  frames: Uint8Array,
  padTo = 0,
): Uint8Array {
  const keys = clientInitialKeys(dcid);
  const headerLength = 7 + dcid.length + scid.length + 1 + 2 + SEALED_PN_LENGTH;
  const missing = padTo - (headerLength + frames.length + TAG_LENGTH);
  const payload = missing > 0 ? new Uint8Array(frames.length + missing) : frames;
  if (payload !== frames) payload.set(frames);
  const lengthValue = SEALED_PN_LENGTH + payload.length + TAG_LENGTH;
  if (lengthValue > 0x3fff) throw new RangeError("Cannot seal: payload longer than 16 KiB");
  const header = new Uint8Array([
    0xc0 | (SEALED_PN_LENGTH - 1),
    0,
    0,
    0,
    1,
    dcid.length,
    ...dcid,
    scid.length,
    ...scid,
    0, // token length
    0x40 | (lengthValue >> 8),
    lengthValue & 0xff,
    (packetNumber >>> 24) & 0xff,
    (packetNumber >>> 16) & 0xff,
    (packetNumber >>> 8) & 0xff,
    packetNumber & 0xff,
  ]);
  const cipher = createCipheriv("aes-128-gcm", keys.key, nonce(keys.iv, packetNumber));
  cipher.setAAD(header);
  const packet = new Uint8Array(header.length + payload.length + TAG_LENGTH);
  packet.set(header);
  packet.set(cipher.update(payload), header.length);
  cipher.final(); // GCM is a stream mode: update() already returned every byte
  packet.set(cipher.getAuthTag(), header.length + payload.length);
  const pnOffset = header.length - SEALED_PN_LENGTH;
  const mask = headerMask(keys.hp, packet.subarray(pnOffset + 4, pnOffset + 4 + 16));
  packet[0] ^= mask[0] & 0x0f;
  for (let i = 0; i < SEALED_PN_LENGTH; i++) packet[pnOffset + i] ^= mask[1 + i];
  return packet;
}

/** Smallest datagram a client Initial may travel in (RFC 9000 §14.1). */
export const MIN_INITIAL_DATAGRAM = 1_200;

/** A client's first flight, opened: what a flooder replays under new DCIDs. */
export interface FirstFlight {
  scid: Uint8Array;
  packets: Array<{ packetNumber: number; payload: Uint8Array }>;
}

/**
 * Dials a UDP socket of our own with `Deno.connectQuic` and opens the Initial datagrams it sends in
 * the first 300 ms (the ClientHello; retransmissions come a PTO, ~1 s, later). Bounded: the dial is
 * abandoned after that window.
 */
export async function captureFirstFlight(alpn: string, serverName: string): Promise<FirstFlight> {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (socket.addr as Deno.NetAddr).port;
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const datagrams: Uint8Array[] = [];
  const reading = (async () => {
    for await (const [data] of socket) datagrams.push(data);
  })().catch(() => {});
  const dial = Deno.connectQuic<false>({
    hostname: "127.0.0.1",
    port,
    serverName,
    alpnProtocols: [alpn],
    endpoint,
    // The ClientHello carries this as the client's idle timeout, and a server keeps a handshake
    // that never finishes for the smaller of the two: a flooder announces a long one so the
    // server's own setting decides how long each spoofed attempt holds state.
    maxIdleTimeout: 600_000,
  });
  dial.then((c) => c.close(), () => {});
  await new Promise((r) => setTimeout(r, 300));
  endpoint.close();
  socket.close();
  await reading;
  await dial.catch(() => {});
  if (datagrams.length === 0) throw new Error("Cannot capture a first flight: nothing was sent");
  const opened = datagrams.map(openInitial);
  return {
    scid: opened[0].scid,
    packets: opened.map((o) => ({ packetNumber: o.packetNumber, payload: o.payload })),
  };
}
