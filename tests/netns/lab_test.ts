/**
 * The NAT lab itself, with real traffic: private hosts reach the "internet" only through their NAT,
 * mapping behaviour per NAT type, cutting the direct path, and complete removal. Needs root; on a
 * machine that cannot make network namespaces every test is skipped with the reason printed.
 * @module
 */
import assert from "node:assert/strict";
import {
  LAB_ADDRESSES as ADDR,
  type LabNamespace,
  NatLab,
  type NatLabOptions,
  peerCommand,
} from "./_lab.ts";

const available = await NatLab.available();
if (!available.ok) console.log(`tests/netns skipped: ${available.why}`);
const opts = { ignore: !available.ok, sanitizeOps: false, sanitizeResources: false };

/** `"<ip>:<port>"` with any port. */
const fromHost = (ip: string) => new RegExp(`^${ip.replaceAll(".", "\\.")}:\\d+$`);

/** Parses the JSON line a probe of `_peer.ts` prints. */
function probeResult(stdout: string): Record<string, unknown> {
  const value: unknown = JSON.parse(stdout.trim());
  assert.ok(typeof value === "object" && value !== null, `probe printed ${stdout}`);
  return Object.fromEntries(Object.entries(value));
}

/** Starts echo servers (each reports the source it sees) in `role` and waits until they listen. */
async function echoes(
  lab: NatLab,
  role: LabNamespace,
  proto: "udp" | "tcp",
  host: string,
  ports: number[],
) {
  for (const port of ports) {
    await lab.spawn(role, peerCommand(`${proto}-echo`, host, String(port))).waitFor(/listening/);
  }
}

/** From one UDP socket in `role`, the source each echo in `targets` saw (null: no answer). */
async function udpProbe(lab: NatLab, role: LabNamespace, targets: string[]) {
  const out = await lab.exec(role, peerCommand("udp-probe", "1000", ...targets));
  assert.equal(out.code, 0, out.stderr);
  const r = probeResult(out.stdout);
  assert.ok(typeof r.local === "number" && Array.isArray(r.seen), out.stdout);
  return { local: r.local, seen: r.seen.map((s) => (typeof s === "string" ? s : null)) };
}

/** What a TCP echo saw (`seen`) or why connecting failed (`error`). */
async function tcpProbe(lab: NatLab, role: LabNamespace, target: string) {
  const out = await lab.exec(role, peerCommand("tcp-probe", "1000", target));
  assert.equal(out.code, 0, out.stderr);
  return probeResult(out.stdout);
}

/** Simultaneous UDP hole punch cliA:a ↔ srvB:b; each side's first peer source, or null. */
async function punch(lab: NatLab, a: number, b: number) {
  const side = (role: LabNamespace, local: number, peer: string) =>
    lab.exec(role, peerCommand("udp-punch", String(local), peer, "1500"));
  const [fromB, fromA] = await Promise.all([
    side("cliA", a, `${ADDR.natB}:${b}`),
    side("srvB", b, `${ADDR.natA}:${a}`),
  ]);
  return { cliA: probeResult(fromB.stdout).from, srvB: probeResult(fromA.stdout).from };
}

async function namespacesOf(lab: NatLab): Promise<string[]> {
  const out = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => n.startsWith(`${lab.prefix}-`));
}

function labTest(
  name: string,
  options: NatLabOptions,
  fn: (lab: NatLab, t: Deno.TestContext) => Promise<void>,
) {
  Deno.test({
    name,
    ...opts,
    async fn(t) {
      await using lab = await NatLab.create(options);
      await fn(lab, t);
    },
  });
}

labTest(
  "NatLab connects private hosts to the internet only through their NAT",
  {},
  async (lab, t) => {
    await echoes(lab, "pub", "udp", ADDR.relay, [7000]);
    await echoes(lab, "pub", "tcp", ADDR.relay, [7000]);

    await t.step("UDP from cliA arrives at the relay's address from natA's address", async () => {
      const { local, seen } = await udpProbe(lab, "cliA", [`${ADDR.relay}:7000`]);
      assert.deepEqual(seen, [`${ADDR.natA}:${local}`]);
    });
    await t.step("UDP from srvB arrives from natB's address", async () => {
      const { seen } = await udpProbe(lab, "srvB", [`${ADDR.relay}:7000`]);
      assert.match(seen[0] ?? "none", fromHost(ADDR.natB));
    });
    await t.step("TCP from cliA arrives from natA's address", async () => {
      assert.match(
        String((await tcpProbe(lab, "cliA", `${ADDR.relay}:7000`)).seen),
        fromHost(ADDR.natA),
      );
    });
    await t.step("srvB's private address answers natB but not cliA", async () => {
      await echoes(lab, "srvB", "tcp", ADDR.srvB, [7100]);
      await echoes(lab, "srvB", "udp", ADDR.srvB, [7100]);
      assert.match(
        String((await tcpProbe(lab, "natB", `${ADDR.srvB}:7100`)).seen),
        fromHost(ADDR.natBLan),
      );
      assert.equal(typeof (await tcpProbe(lab, "cliA", `${ADDR.srvB}:7100`)).error, "string");
      assert.deepEqual((await udpProbe(lab, "cliA", [`${ADDR.srvB}:7100`])).seen, [null]);
    });
  },
);

labTest(
  "NatLab maps one socket to one public port, or to one per destination when symmetric",
  { natA: "endpoint-independent", natB: "symmetric" },
  async (lab, t) => {
    const targets = [7000, 7001, 7002].map((p) => `${ADDR.relay}:${p}`);
    await echoes(lab, "pub", "udp", ADDR.relay, [7000, 7001, 7002]);

    await t.step(
      "endpoint-independent natA keeps the socket's port for every destination",
      async () => {
        const { local, seen } = await udpProbe(lab, "cliA", targets);
        assert.deepEqual(seen, targets.map(() => `${ADDR.natA}:${local}`));
      },
    );
    await t.step("symmetric natB (--random-fully) picks a port per destination", async () => {
      const { seen } = await udpProbe(lab, "srvB", targets);
      for (const s of seen) assert.match(s ?? "none", fromHost(ADDR.natB));
      // Three random ports out of ~64k: all equal has odds of about 1 in 4 billion.
      assert.ok(new Set(seen).size > 1, `one port for every destination: ${seen}`);
    });
  },
);

labTest(
  "NatLab cutDirect() drops UDP between the NATs while the relay stays reachable",
  {},
  async (lab, t) => {
    await echoes(lab, "pub", "udp", ADDR.relay, [7000]);

    await t.step("a simultaneous hole punch connects cliA and srvB", async () => {
      assert.deepEqual(await punch(lab, 40_000, 40_001), {
        cliA: `${ADDR.natB}:40001`,
        srvB: `${ADDR.natA}:40000`,
      });
    });
    await t.step("after cutDirect() the same punch fails both ways", async () => {
      await lab.cutDirect();
      await lab.cutDirect(); // idempotent
      assert.deepEqual(await punch(lab, 40_000, 40_001), { cliA: null, srvB: null });
    });
    await t.step("and both still reach the relay", async () => {
      assert.match(
        (await udpProbe(lab, "cliA", [`${ADDR.relay}:7000`])).seen[0] ?? "none",
        fromHost(ADDR.natA),
      );
      assert.match(
        (await udpProbe(lab, "srvB", [`${ADDR.relay}:7000`])).seen[0] ?? "none",
        fromHost(ADDR.natB),
      );
    });
    await t.step("setUdpTimeouts() changes natA's mapping lifetimes only", async () => {
      const read = (role: LabNamespace) =>
        lab.exec(role, ["cat", "/proc/sys/net/netfilter/nf_conntrack_udp_timeout"]);
      await lab.setUdpTimeouts("natA", { unrepliedS: 7, streamS: 9 });
      assert.equal((await read("natA")).stdout.trim(), "7");
      assert.equal((await read("natB")).stdout.trim(), "30");
      await assert.rejects(lab.setUdpTimeouts("natA", { streamS: 0 }), RangeError);
    });
    await t.step("restoreDirect() brings the direct path back on the same ports", async () => {
      await lab.restoreDirect();
      assert.deepEqual(await punch(lab, 40_000, 40_001), {
        cliA: `${ADDR.natB}:40001`,
        srvB: `${ADDR.natA}:40000`,
      });
    });
  },
);

Deno.test({
  name: "NatLab dispose() removes every namespace and process, and create() sweeps leftovers",
  ...opts,
  async fn(t) {
    await t.step(
      "dispose() removes the namespaces and kills what runs in them, idempotently",
      async () => {
        await using lab = await NatLab.create();
        assert.equal((await namespacesOf(lab)).length, 5);
        // Started behind the lab's back, like a process a crashed test left behind.
        const stray = new Deno.Command("ip", {
          args: ["netns", "exec", lab.ns("cliA"), "sleep", "60"],
          stdout: "null",
          stderr: "null",
        }).spawn();
        await lab.dispose();
        await lab.dispose();
        assert.deepEqual(await namespacesOf(lab), []);
        assert.equal((await stray.status).signal, "SIGKILL");
      },
    );
    await t.step("create() removes a crashed run's namespaces with its own prefix", async () => {
      const prefix = `ztt${crypto.randomUUID().slice(0, 4)}`;
      await new Deno.Command("ip", { args: ["netns", "add", `${prefix}-natA`] }).output();
      await using lab = await NatLab.create({ prefix });
      assert.equal((await namespacesOf(lab)).length, 5);
    });
    await t.step("create() removes default-named leftovers whose owner is gone", async () => {
      const stale = `zt${crypto.randomUUID().slice(0, 4)}`;
      await new Deno.Command("ip", { args: ["netns", "add", `${stale}-pub`] }).output();
      await using _lab = await NatLab.create();
      const out = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" })
        .output();
      assert.doesNotMatch(new TextDecoder().decode(out.stdout), new RegExp(`^${stale}-pub`, "m"));
    });
  },
});
