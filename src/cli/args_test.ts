/**
 * Tests of command-line parsing: every accepted form and every refused one.
 * @module
 */
import assert from "node:assert/strict";
import { type Command, parseArgs, UsageError } from "./args.ts";

function usageError(argv: string[], env = {}): UsageError {
  try {
    parseArgs(argv, env);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`expected a UsageError for ${argv.join(" ")}`);
}

const ROLE: Command = { kind: "role", role: "connector", configPath: "c.toml" };

Deno.test("parseArgs() accepts --flag=value, --flag value and -c", () => {
  assert.deepEqual(parseArgs(["--role=connector", "--config=c.toml"], {}), ROLE);
  assert.deepEqual(parseArgs(["--role", "connector", "--config", "c.toml"], {}), ROLE);
  assert.deepEqual(parseArgs(["-c", "c.toml", "--role", "connector"], {}), ROLE);
});

Deno.test("parseArgs() reads log flags", () => {
  assert.deepEqual(
    parseArgs(["--role=client", "-c", "x.toml", "--log-level", "debug", "--log-format=json"], {}),
    { kind: "role", role: "client", configPath: "x.toml", logLevel: "debug", logFormat: "json" },
  );
});

Deno.test("parseArgs() takes the config path from ZTNA_CONFIG when --config is missing", () => {
  assert.deepEqual(parseArgs(["--role=connector"], { ZTNA_CONFIG: "c.toml" }), ROLE);
  assert.deepEqual(
    parseArgs(["--role=connector", "--config", "c.toml"], { ZTNA_CONFIG: "other.toml" }),
    ROLE,
  );
});

Deno.test("parseArgs() recognises admin, demo, help and version", () => {
  assert.deepEqual(parseArgs(["admin", "token", "--help"], {}), {
    kind: "admin",
    args: ["token", "--help"],
  });
  assert.deepEqual(parseArgs(["demo"], {}), { kind: "demo" });
  assert.deepEqual(parseArgs(["demo", "--log-level=debug"], {}), {
    kind: "demo",
    logLevel: "debug",
  });
  assert.deepEqual(parseArgs(["demo", "--help"], {}), { kind: "help", topic: "demo" });
  assert.deepEqual(parseArgs(["--help"], {}), { kind: "help" });
  assert.deepEqual(parseArgs(["-h"], {}), { kind: "help" });
  assert.deepEqual(parseArgs(["--role=connector", "--help"], {}), {
    kind: "help",
    topic: "connector",
  });
  assert.deepEqual(parseArgs(["--help", "--role", "intermediate"], {}), {
    kind: "help",
    topic: "intermediate",
  });
  assert.deepEqual(parseArgs(["--version"], {}), { kind: "version" });
});

Deno.test("parseArgs() suggests the closest flag for an unknown one", () => {
  const error = usageError(["--role=client", "--confg", "c.toml"]);
  assert.equal(error.message, 'unknown flag "--confg"; did you mean "--config"?');
  assert.equal(usageError(["--role=client", "--confg=c.toml"]).message, error.message);
  assert.equal(usageError(["--frobnicate"]).message, 'unknown flag "--frobnicate"');
});

Deno.test("parseArgs() rejects an unknown role with the list of roles", () => {
  const error = usageError(["--role=relay", "-c", "c.toml"]);
  assert.equal(error.message, 'unknown role "relay"; expected intermediate, connector or client');
  assert.match(error.hint ?? "", /--role=intermediate/);
  assert.match(usageError(["--role", "conector"]).hint ?? "", /--role=connector/);
});

Deno.test("parseArgs() never takes a positional argument", async (t) => {
  for (
    const argv of [["relay.toml"], ["--role=intermediate", "relay.toml"], ["connector"], ["demo2"]]
  ) {
    await t.step(argv.join(" "), () => {
      const error = usageError(argv);
      assert.match(error.message, /^unexpected argument ".+"; ztna takes no positional arguments$/);
    });
  }
  assert.match(usageError(["relay.toml"]).hint ?? "", /--config relay\.toml/);
  assert.match(usageError(["connector"]).hint ?? "", /--role=connector/);
});

Deno.test("parseArgs() explains missing --role and missing --config", () => {
  assert.match(usageError([]).message, /^missing --role/);
  assert.match(usageError(["-c", "c.toml"]).message, /^missing --role/);
  const error = usageError(["--role=connector"]);
  assert.match(error.message, /^missing --config/);
  assert.match(error.hint ?? "", /ZTNA_CONFIG/);
  assert.match(usageError(["--role=connector"], { ZTNA_CONFIG: "" }).message, /^missing --config/);
});

Deno.test("parseArgs() rejects malformed flag use", () => {
  assert.equal(usageError(["--role"]).message, 'flag "--role" needs a value');
  assert.equal(usageError(["--config", "--role=client"]).message, 'flag "--config" needs a value');
  assert.equal(usageError(["--config="]).message, 'flag "--config" needs a value');
  assert.equal(usageError(["--help=yes"]).message, 'flag "--help" takes no value');
  assert.equal(
    usageError(["--role=client", "--role=connector"]).message,
    'flag "--role" given more than once',
  );
  assert.equal(
    usageError(["--role=client", "-c", "a", "--log-level", "loud"]).message,
    'invalid value "loud" for --log-level; expected one of debug, info, warning, error',
  );
  assert.match(usageError(["demo", "--config", "c.toml"]).message, /does not apply to "ztna demo"/);
});

Deno.test("parseArgs() reads ztna connect: service, flags over ZTNA_* variables", () => {
  assert.deepEqual(
    parseArgs(["connect", "Web.ztna", "--relay", "r.example:4433", "--ca=ca.pem"], {
      ZTNA_RELAY: "other:1",
      ZTNA_SERVER_NAME: "relay.example",
    }),
    {
      kind: "connect",
      service: "web.ztna",
      relay: "r.example:4433",
      serverName: "relay.example",
      ca: "ca.pem",
    },
  );
  assert.deepEqual(parseArgs(["connect", "web"], { ZTNA_CONFIG: "c.toml" }), {
    kind: "connect",
    service: "web",
    configPath: "c.toml",
  });
  assert.deepEqual(parseArgs(["connect", "--help"], {}), { kind: "help", topic: "connect" });
  assert.match(usageError(["connect", "web"]).message, /needs a relay/);
  assert.match(usageError(["connect", "--relay", "r:1"]).message, /missing the service/);
  assert.match(usageError(["connect", "web", "--rely", "r:1"]).message, /did you mean "--relay"/);
});

Deno.test("--role=client takes repeated --forward, --socks and the relay from flags or ZTNA_*", () => {
  assert.deepEqual(
    parseArgs(
      ["--role=client", "--forward", "web=8080", "--forward=db=127.0.0.1:5432", "--socks", "1080"],
      { ZTNA_RELAY: "relay.example.com:4433", ZTNA_CA: "/ca.pem" },
    ),
    {
      kind: "role",
      role: "client",
      client: {
        forward: ["web=8080", "db=127.0.0.1:5432"],
        socks: "1080",
        relay: "relay.example.com:4433",
        ca: "/ca.pem",
      },
    },
  );
  assert.throws(() => parseArgs(["--role=client", "--forward", "web=8080"], {}), UsageError);
  assert.throws(
    () => parseArgs(["--role=connector", "--config", "c.toml", "--forward", "web=1"], {}),
    /applies to --role=client only/,
  );
});
