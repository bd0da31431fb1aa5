/**
 * deploy/systemd/: every unit (and the relay's low-ports drop-in) passes `systemd-analyze verify`
 * with no warning at all (verify exits 0 on unknown keys and bad values, so any output fails), in a
 * throwaway root where /usr/local/bin/ztna exists; and each holds the hardening the issue asks for.
 * @module
 */
import assert from "node:assert/strict";
import { REPO_ROOT, tempDir } from "../_helpers/ztna_process.ts";

const UNITS = ["ztna-relay.service", "ztna-connector.service", "ztna-client.service"];
const SOURCE = `${REPO_ROOT}/deploy/systemd`;

/** `key=value` lines of a unit file's [Service] section, in order. */
async function serviceKeys(path: string): Promise<Array<[string, string]>> {
  const text = await Deno.readTextFile(path);
  const section = text.split(/^\[/m).find((s) => s.startsWith("Service]")) ?? "";
  return section.split("\n").filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]);
}

Deno.test("systemd units pass systemd-analyze verify without a single warning", async () => {
  await using root = await tempDir("systemd-root");
  const r = root.path;
  await Deno.mkdir(`${r}/etc/systemd/system/ztna-relay.service.d`, { recursive: true });
  await Deno.mkdir(`${r}/usr/local/bin`, { recursive: true });
  await Deno.mkdir(`${r}/usr/lib/systemd`, { recursive: true });
  await Deno.mkdir(`${r}/bin`, { recursive: true });
  // The targets units name (multi-user, network-online, sysinit) and the programs they start.
  await new Deno.Command("cp", {
    args: ["-r", "/usr/lib/systemd/system", `${r}/usr/lib/systemd/`],
  }).output();
  await Deno.copyFile("/bin/kill", `${r}/bin/kill`);
  await Deno.writeTextFile(`${r}/usr/local/bin/ztna`, "#!/bin/sh\n", { mode: 0o755 });
  for (const unit of UNITS) {
    await Deno.copyFile(`${SOURCE}/${unit}`, `${r}/etc/systemd/system/${unit}`);
  }
  await Deno.copyFile(
    `${SOURCE}/ztna-relay.service.d/bind-low-ports.conf`,
    `${r}/etc/systemd/system/ztna-relay.service.d/bind-low-ports.conf`,
  );
  const out = await new Deno.Command("systemd-analyze", {
    args: ["verify", `--root=${r}`, ...UNITS.map((u) => `/etc/systemd/system/${u}`)],
    env: { SYSTEMD_LOG_COLOR: "0" },
  }).output();
  const said = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, said);
  assert.equal(said.trim(), "", "systemd-analyze verify printed warnings");
});

Deno.test("systemd units: dedicated user, strict file system, no new privileges, capabilities only for low ports", async () => {
  for (const unit of UNITS) {
    const keys = new Map(await serviceKeys(`${SOURCE}/${unit}`));
    assert.equal(keys.get("User"), "ztna", unit);
    assert.equal(keys.get("ProtectSystem"), "strict", unit);
    assert.equal(keys.get("NoNewPrivileges"), "yes", unit);
    assert.equal(keys.get("CapabilityBoundingSet"), "", `${unit}: no capability`);
    assert.equal(keys.get("AmbientCapabilities"), "", `${unit}: no capability`);
    assert.match(
      keys.get("ExecStart") ?? "",
      /^\/usr\/local\/bin\/ztna --role=\w+ --config \/etc\/ztna\//,
    );
  }
  const relay = await serviceKeys(`${SOURCE}/ztna-relay.service`);
  const env = relay.filter(([k]) => k === "Environment").map(([, v]) => v);
  assert.deepEqual(env, [
    "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=65536",
    "DENO_V8_FLAGS=--max-semi-space-size=2",
  ]);
  assert.deepEqual(relay.filter(([k]) => k.startsWith("StateDirectory")), [
    ["StateDirectory", "ztna"],
    ["StateDirectoryMode", "0700"],
  ]);
  const lowPorts = await serviceKeys(`${SOURCE}/ztna-relay.service.d/bind-low-ports.conf`);
  assert.deepEqual(lowPorts, [
    ["CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"],
    ["AmbientCapabilities", "CAP_NET_BIND_SERVICE"],
  ]);
});
