/**
 * Tests of `ztna doctor`'s command line: config or relay (flags over ZTNA_*), --service, --json.
 * @module
 */
import assert from "node:assert/strict";
import { parseArgs, UsageError } from "./args.ts";

Deno.test("parseArgs() reads ztna doctor with a config, a service and --json", () => {
  assert.deepEqual(parseArgs(["doctor", "--config", "c.toml", "--service=Web", "--json"], {}), {
    kind: "doctor",
    configPath: "c.toml",
    service: "web",
    json: true,
  });
  assert.deepEqual(parseArgs(["doctor", "-c", "c.toml"], {}), {
    kind: "doctor",
    configPath: "c.toml",
    json: false,
  });
});

Deno.test("parseArgs() takes ztna doctor's relay, TLS name and CA from flags over ZTNA_*", () => {
  const env = { ZTNA_RELAY: "env:1", ZTNA_SERVER_NAME: "env.example", ZTNA_CA: "/env/ca.pem" };
  assert.deepEqual(parseArgs(["doctor"], env), {
    kind: "doctor",
    relay: "env:1",
    serverName: "env.example",
    ca: "/env/ca.pem",
    json: false,
  });
  assert.deepEqual(parseArgs(["doctor", "--relay", "r:2", "--ca", "ca.pem"], env), {
    kind: "doctor",
    relay: "r:2",
    serverName: "env.example",
    ca: "ca.pem",
    json: false,
  });
  assert.deepEqual(parseArgs(["doctor", "--help"], {}), { kind: "help", topic: "doctor" });
});

Deno.test("parseArgs() refuses ztna doctor without a relay, with unknown flags or values", () => {
  for (
    const argv of [
      ["doctor"],
      ["doctor", "--config"],
      ["doctor", "-c", "c.toml", "--jsn"],
      ["doctor", "-c", "c.toml", "--json=yes"],
      ["doctor", "-c", "c.toml", "extra"],
      ["doctor", "-c", "a.toml", "-c", "b.toml"],
    ]
  ) {
    assert.throws(() => parseArgs(argv, {}), UsageError, argv.join(" "));
  }
});
