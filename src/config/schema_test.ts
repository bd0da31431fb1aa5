/**
 * Tests of the cross-key rules in the schema (the per-key rules are exercised through issues_test).
 * @module
 */
import assert from "node:assert/strict";
import { AcmeSection, ClientSection, ConnectorSection, IntermediateSection } from "./schema.ts";

const RELAYS = [{ address: "relay.example.com:4433" }];

Deno.test("ConnectorSection rejects two services with the same id", () => {
  const result = ConnectorSection.safeParse({
    relays: RELAYS,
    service: [{ id: "web", backend: "192.0.2.1:80" }, { id: "web", backend: "192.0.2.2:80" }],
  });
  assert.ok(!result.success);
  assert.deepEqual(result.error.issues.map((i) => i.path), [["service", 1, "id"]]);
});

Deno.test("ClientSection rejects reconnect_min_ms above reconnect_max_ms", () => {
  const result = ClientSection.safeParse({
    relays: RELAYS,
    forward: [{ listen: "127.0.0.1:8080", service: "web" }],
    reconnect_min_ms: 60_000,
    reconnect_max_ms: 1_000,
  });
  assert.ok(!result.success);
  assert.deepEqual(result.error.issues.map((i) => i.path), [["reconnect_min_ms"]]);
});

const RELAY = { token_public_keys: ["k.pub"] };
const ACME = { enabled: true, domains: ["relay.example.com"] };

/** Issue paths of a failed parse, as dotted strings. */
function paths(result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) {
  return (result.error?.issues ?? []).map((i) => i.path.join("."));
}

Deno.test("IntermediateSection requires cert and key unless ACME is enabled", () => {
  assert.deepEqual(paths(IntermediateSection.safeParse(RELAY)), ["cert", "key"]);
  assert.ok(IntermediateSection.safeParse({ ...RELAY, cert: "c.pem", key: "k.pem" }).success);
  assert.ok(IntermediateSection.safeParse({ ...RELAY, acme: ACME }).success);
});

Deno.test("IntermediateSection refuses cert and key beside an enabled [intermediate.acme]", () => {
  const result = IntermediateSection.safeParse({ ...RELAY, cert: "c.pem", key: "k", acme: ACME });
  assert.deepEqual(paths(result), ["cert", "key"]);
});

Deno.test("AcmeSection defaults to Let's Encrypt production, http-01 on port 80, a third", () => {
  const acme = AcmeSection.parse({});
  assert.equal(acme.enabled, false);
  assert.equal(acme.directory_url, "https://acme-v02.api.letsencrypt.org/directory");
  assert.equal(acme.challenge, "http-01");
  assert.equal(acme.http_listen, "0.0.0.0:80");
  assert.equal(acme.renew_before_fraction, 1 / 3);
});

Deno.test("AcmeSection checks its keys when enabled", async (t) => {
  const cases: [string, Record<string, unknown>, string[]][] = [
    ["no domains", { enabled: true }, ["domains"]],
    ["dns-01 without a hook", { ...ACME, challenge: "dns-01" }, ["dns_hook"]],
    ["a wildcard over http-01", { ...ACME, domains: ["*.example.com"] }, ["challenge"]],
    ["a duplicate domain", { ...ACME, domains: ["a.example.com", "a.example.com"] }, ["domains"]],
    ["an upper-case or odd name", { ...ACME, domains: ["Relay.example.com"] }, ["domains.0"]],
    ["a name with a shell character", { ...ACME, domains: ["a.example.com;id"] }, ["domains.0"]],
    ["plain http", { ...ACME, directory_url: "http://ca.example.com/dir" }, ["directory_url"]],
    ["a fraction of 1", { ...ACME, renew_before_fraction: 1 }, ["renew_before_fraction"]],
    ["retry bounds reversed", { ...ACME, retry_min_ms: 10, retry_max_ms: 5 }, ["retry_min_ms"]],
  ];
  for (const [name, input, expected] of cases) {
    await t.step(name, () => assert.deepEqual(paths(AcmeSection.safeParse(input)), expected));
  }
  await t.step("a wildcard over dns-01", () => {
    const input = { ...ACME, domains: ["*.example.com"], challenge: "dns-01", dns_hook: "/h" };
    assert.ok(AcmeSection.safeParse(input).success);
  });
});

Deno.test("IntermediateSection: the store is Deno KV unless [intermediate.store] says postgres", () => {
  assert.deepEqual(
    IntermediateSection.parse({ ...RELAY, cert: "c", key: "k" }).store,
    { kind: "kv" },
  );
  const store = {
    kind: "postgres",
    url: "postgres://ztna@db.example.com:5432/ztna",
    password_file: "db-password",
  };
  assert.deepEqual(
    IntermediateSection.parse({ ...RELAY, cert: "c", key: "k", store }).store,
    { ...store, max_staleness_ms: 30_000 },
  );
});

Deno.test("IntermediateSection refuses a database URL with a password, options or no user", () => {
  for (
    const [url, problem] of [
      ["postgres://ztna:secret@db.example.com/ztna", /no password in the URL/],
      ["postgres://ztna@db.example.com/ztna?sslmode=disable", /no \?options/],
      ["postgres://db.example.com/ztna", /a user, a host and a database/],
      ["mysql://ztna@db.example.com/ztna", /expected postgres:\/\//],
    ] as const
  ) {
    const result = IntermediateSection.safeParse({
      ...RELAY,
      cert: "c",
      key: "k",
      store: { kind: "postgres", url },
    });
    assert.ok(!result.success, url);
    assert.match(result.error.issues.map((i) => i.message).join("; "), problem, url);
  }
});
