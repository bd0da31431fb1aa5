/**
 * A tiny DNS server for tests that run Pebble: UDP on a loopback port, it answers every A query
 * with 127.0.0.1 (so Pebble's validation of any test name reaches our HTTP-01 listener), every
 * TXT query with the records the test put in {@link DnsResponder.txt} or in files of a folder
 * (where a dns-01 hook writes them), and everything else with an empty NOERROR answer.
 * Length-checked; malformed queries are ignored.
 * @module
 */

/** Record types this responder knows. */
const TYPE_A = 1;
const TYPE_TXT = 16;
const TYPE_NAMES = new Map([[TYPE_A, "A"], [TYPE_TXT, "TXT"], [28, "AAAA"]]);
/** Seconds resolvers may cache an answer; short, tests change records. */
const TTL_SECONDS = 1;

/** A running responder. */
export interface DnsResponder extends Disposable {
  /** The UDP port on 127.0.0.1. */
  port: number;
  /** TXT records by lowercase name without the final dot, e.g. `_acme-challenge.relay.test`. */
  txt: Map<string, string[]>;
  /** Queries answered so far, as `TYPE name`, for assertions. */
  queries: string[];
  close(): void;
}

/** Reads the question's name; undefined when malformed. Compression never occurs in questions. */
function readName(msg: Uint8Array, start: number): { name: string; end: number } | undefined {
  const labels: string[] = [];
  let i = start;
  while (i < msg.length) {
    const len = msg[i];
    if (len === 0) return { name: labels.join(".").toLowerCase(), end: i + 1 };
    if (len > 63 || i + 1 + len > msg.length) return undefined;
    labels.push(new TextDecoder().decode(msg.subarray(i + 1, i + 1 + len)));
    i += 1 + len;
  }
  return undefined;
}

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function u32(n: number): number[] {
  return [...u16(Math.floor(n / 65_536)), ...u16(n % 65_536)];
}

/** The answer to one query, or undefined for input that is not a single-question query. */
export function answerQuery(
  msg: Uint8Array,
  txt: { get(name: string): readonly string[] | undefined },
): { reply: Uint8Array; type: number; name: string } | undefined {
  if (msg.length < 12) return undefined;
  const flags = (msg[2] << 8) | msg[3];
  const qdcount = (msg[4] << 8) | msg[5];
  if ((flags & 0x8000) !== 0 || qdcount !== 1) return undefined;
  const q = readName(msg, 12);
  if (q === undefined || q.end + 4 > msg.length) return undefined;
  const type = (msg[q.end] << 8) | msg[q.end + 1];
  const question = msg.subarray(12, q.end + 4);
  const answers: number[][] = [];
  // Each answer points at the question's name (offset 12) instead of repeating it.
  const namePointer = [0xc0, 12];
  if (type === TYPE_A) {
    answers.push([...namePointer, ...u16(TYPE_A), ...u16(1), ...u32(TTL_SECONDS), ...u16(4)]);
    answers[0].push(127, 0, 0, 1);
  } else if (type === TYPE_TXT) {
    for (const value of txt.get(q.name) ?? []) {
      const bytes = new TextEncoder().encode(value);
      if (bytes.length > 255) continue;
      answers.push([
        ...namePointer,
        ...u16(TYPE_TXT),
        ...u16(1),
        ...u32(TTL_SECONDS),
        ...u16(bytes.length + 1),
        bytes.length,
        ...bytes,
      ]);
    }
  }
  // Response, authoritative, recursion desired copied, recursion available; rcode 0.
  const replyFlags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080;
  const header = [
    msg[0],
    msg[1],
    ...u16(replyFlags),
    ...u16(1),
    ...u16(answers.length),
    0,
    0,
    0,
    0,
  ];
  const reply = new Uint8Array([...header, ...question, ...answers.flat()]);
  return { reply, type, name: q.name };
}

/** Options of {@link startDnsResponder}. */
export interface DnsResponderOptions {
  /**
   * Also answer TXT queries from files in this folder, one per name (`<folder>/<name>` holds the
   * value): another process, such as a dns-01 hook, can publish records there.
   */
  txtDir?: string;
}

/** TXT records of `txt` plus the file for `name` in `dir`, if any. */
function recordsWithFiles(txt: Map<string, string[]>, dir: string | undefined) {
  return {
    get(name: string): string[] | undefined {
      const own = txt.get(name) ?? [];
      if (dir === undefined || !/^[a-z0-9._-]+$/.test(name)) return own;
      try {
        return [...own, Deno.readTextFileSync(`${dir}/${name}`)];
      } catch {
        return own;
      }
    },
  };
}

/** Starts a responder on a free UDP port of 127.0.0.1. */
export function startDnsResponder(options: DnsResponderOptions = {}): DnsResponder {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const txt = new Map<string, string[]>();
  const queries: string[] = [];
  const records = recordsWithFiles(txt, options.txtDir);
  (async () => {
    for await (const [data, from] of socket) {
      const answer = answerQuery(data, records);
      if (answer === undefined) continue;
      queries.push(`${TYPE_NAMES.get(answer.type) ?? answer.type} ${answer.name}`);
      socket.send(answer.reply, from).catch(() => {});
    }
  })().catch(() => {}); // the socket was closed
  const close = () => {
    try {
      socket.close();
    } catch {
      // already closed
    }
  };
  return {
    port: (socket.addr as Deno.NetAddr).port,
    txt,
    queries,
    close,
    [Symbol.dispose]: close,
  };
}
