import assert from "node:assert/strict";
import { ConnectorRegistry, type PoolMember } from "./registry.ts";

function member(connId: string, activeFlows = 0): PoolMember {
  return { connId, activeFlows };
}

Deno.test("ConnectorRegistry picks nothing for a service without members", () => {
  const reg = new ConnectorRegistry();
  assert.equal(reg.pick("db"), undefined);
  assert.deepEqual(reg.members("db"), []);
  assert.deepEqual(reg.services(), []);
  assert.equal(reg.isKnown("db"), false);
});

Deno.test("ConnectorRegistry picks the only member of a pool", () => {
  const reg = new ConnectorRegistry();
  const a = member("a");
  reg.add("db", a);
  assert.equal(reg.pick("db"), a);
  assert.equal(reg.pick("db"), a);
  assert.equal(reg.pick("web"), undefined);
  assert.deepEqual(reg.services(), ["db"]);
  assert.equal(reg.isKnown("db"), true);
});

Deno.test("ConnectorRegistry picks the member with the fewest active flows", () => {
  const reg = new ConnectorRegistry();
  const a = member("a", 5);
  const b = member("b", 2);
  const c = member("c", 9);
  for (const m of [a, b, c]) reg.add("db", m);
  assert.equal(reg.pick("db"), b);
  assert.equal(reg.pick("db"), b, "load, not turn, decides");
  b.activeFlows = 6;
  assert.equal(reg.pick("db"), a, "reads the live count");
});

Deno.test("ConnectorRegistry alternates between members with equal load", () => {
  const reg = new ConnectorRegistry();
  const a = member("a", 1);
  const b = member("b", 1);
  reg.add("db", a);
  reg.add("db", b);
  assert.deepEqual([1, 2, 3, 4].map(() => reg.pick("db")?.connId), ["a", "b", "a", "b"]);
});

Deno.test("ConnectorRegistry rotates only among the least loaded", () => {
  const reg = new ConnectorRegistry();
  for (const [id, load] of [["a", 0], ["b", 3], ["c", 0], ["d", 0]] as const) {
    reg.add("db", member(id, load));
  }
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => reg.pick("db")?.connId), [
    "a",
    "c",
    "d",
    "a",
    "c",
    "d",
  ]);
});

Deno.test("ConnectorRegistry shares flows evenly when the caller counts them", () => {
  const reg = new ConnectorRegistry();
  const pool = [member("a"), member("b"), member("c")];
  for (const m of pool) reg.add("db", m);
  for (let i = 0; i < 30; i++) {
    const m = reg.pick("db");
    assert.ok(m);
    m.activeFlows++;
  }
  assert.deepEqual(pool.map((m) => m.activeFlows), [10, 10, 10]);
});

Deno.test("ConnectorRegistry ignores adding the same member twice", () => {
  const reg = new ConnectorRegistry();
  const a = member("a");
  reg.add("db", a);
  reg.add("db", a);
  reg.add("db", member("a", 7));
  assert.deepEqual(reg.members("db"), [a]);
  assert.deepEqual(reg.removeConnection("a"), ["db"]);
  assert.deepEqual(reg.members("db"), []);
});

Deno.test("ConnectorRegistry removeConnection removes from every pool and returns its services", () => {
  const reg = new ConnectorRegistry();
  const a = member("a");
  const b = member("b");
  reg.add("db", a);
  reg.add("web", a);
  reg.add("web", b);
  reg.add("mail", b);
  assert.deepEqual(reg.removeConnection("a").sort(), ["db", "web"]);
  assert.deepEqual(reg.members("db"), []);
  assert.deepEqual(reg.members("web"), [b]);
  assert.deepEqual(reg.services().sort(), ["mail", "web"]);
  assert.equal(reg.pick("db"), undefined);
  assert.equal(reg.pick("web"), b);
  assert.deepEqual(reg.removeConnection("a"), [], "a second removal finds nothing");
  assert.deepEqual(reg.removeConnection("nobody"), []);
});

Deno.test("ConnectorRegistry keeps a service known after its pool empties", () => {
  const reg = new ConnectorRegistry();
  reg.add("db", member("a"));
  reg.removeConnection("a");
  assert.equal(reg.isKnown("db"), true);
  assert.equal(reg.pick("db"), undefined);
  assert.deepEqual(reg.services(), []);
  reg.add("db", member("b"));
  assert.equal(reg.pick("db")?.connId, "b", "a pool can be refilled");
});

Deno.test("ConnectorRegistry keeps picking after a member leaves mid-rotation", () => {
  const reg = new ConnectorRegistry();
  for (const id of ["a", "b", "c"]) reg.add("db", member(id));
  assert.equal(reg.pick("db")?.connId, "a");
  assert.equal(reg.pick("db")?.connId, "b");
  assert.equal(reg.pick("db")?.connId, "c");
  reg.removeConnection("c");
  const next = [1, 2, 3, 4].map(() => reg.pick("db")?.connId);
  assert.ok(next.includes("a") && next.includes("b"), `${next}`);
  assert.ok(!next.includes("c"));
});

Deno.test("ConnectorRegistry members() returns a copy", () => {
  const reg = new ConnectorRegistry();
  reg.add("db", member("a"));
  reg.members("db").push(member("x"));
  assert.deepEqual(reg.members("db").map((m) => m.connId), ["a"]);
});

Deno.test("ConnectorRegistry passes over suspect and excluded members, and says who registers", () => {
  const reg = new ConnectorRegistry();
  const a: PoolMember = member("a");
  const b: PoolMember = member("b", 7);
  reg.add("db", a);
  reg.add("db", b);
  a.suspect = true;
  assert.equal(reg.pick("db"), b, "healthy before fewer flows");
  assert.equal(reg.pick("db", new Set(["b"])), a, "a suspect when nothing else is left");
  assert.equal(reg.pick("db", new Set(["a", "b"])), undefined);
  assert.equal(reg.hasOther("db", new Set(["a"])), true);
  assert.equal(reg.hasOther("db", new Set(["a", "b"])), false);
  const added: string[] = [];
  const off = reg.onAdd((service) => added.push(service));
  reg.add("web", member("c"));
  off();
  reg.add("ssh", member("d"));
  assert.deepEqual(added, ["web"]);
});

Deno.test("ConnectorRegistry prefers healthy members `prefer` accepts, else any healthy one", () => {
  type M = PoolMember & { transport: "quic" | "tcp" };
  const reg = new ConnectorRegistry<M>();
  const quic: M = { connId: "q", activeFlows: 0, transport: "quic" };
  const tcp: M = { connId: "t", activeFlows: 5, transport: "tcp" };
  reg.add("db", quic);
  reg.add("db", tcp);
  const onTcp = (m: M) => m.transport === "tcp";
  assert.equal(reg.pick("db"), quic, "without a preference: fewest flows");
  assert.equal(reg.pick("db", undefined, onTcp), tcp, "the preference beats load");
  assert.equal(reg.pick("db", undefined, (m) => m.transport === "quic"), quic);
  tcp.suspect = true;
  assert.equal(reg.pick("db", undefined, onTcp), quic, "a suspect preferred one: any healthy");
  tcp.suspect = false;
  assert.equal(reg.pick("db", new Set(["t"]), onTcp), quic, "a tried preferred one: the other");
  quic.suspect = true;
  tcp.suspect = true;
  assert.equal(reg.pick("db", undefined, onTcp), tcp, "all suspect: the preference among them");
});
