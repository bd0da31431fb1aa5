/**
 * Role sandboxes' networks: the relay's with the PostgreSQL store (the database's host and port
 * join it, its password and CA files the read list; `ztna admin permissions` prints the same) and
 * the client's with UDP forwards on and off loopback.
 * @module
 */
import assert from "node:assert/strict";
import { ClientSection, IntermediateSection } from "../config/schema.ts";
import { listenerOutsideSandbox, roleFiles, roleNetPermissions } from "./role_permissions.ts";

function relay(store: unknown) {
  return IntermediateSection.parse({
    token_public_keys: ["/etc/ztna/k.pub"],
    cert: "/etc/ztna/c.pem",
    key: "/etc/ztna/k.pem",
    listen: "0.0.0.0:4433",
    store,
  });
}

Deno.test("roleNetPermissions: a relay on PostgreSQL may reach the database's host:port", () => {
  const config = relay({
    kind: "postgres",
    url: "postgres://ztna@db.example.com/ztna",
    password_file: "/etc/ztna/db-password",
    ca: "/etc/ztna/db-ca.pem",
  });
  const net = roleNetPermissions({ role: "intermediate", config });
  assert.ok(Array.isArray(net) && net.includes("db.example.com:5432"), String(net));
  const files = roleFiles({ role: "intermediate", config }, undefined);
  assert.ok(files.read.includes("/etc/ztna/db-password"));
  assert.ok(files.read.includes("/etc/ztna/db-ca.pem"));
  // The same relay on Deno KV: everything but the database.
  const kv = relay(undefined);
  assert.deepEqual(
    roleNetPermissions({ role: "intermediate", config: kv }),
    net.filter((entry) => entry !== "db.example.com:5432"),
  );
});

Deno.test("roleNetPermissions: a relay's tcp_listen on another address joins its network", () => {
  const base = { token_public_keys: ["/etc/ztna/k.pub"], cert: "/c.pem", key: "/k.pem" };
  const other = IntermediateSection.parse({
    ...base,
    listen: "0.0.0.0:4433",
    tcp_listen: "0.0.0.0:443",
  });
  const net = roleNetPermissions({ role: "intermediate", config: other });
  assert.ok(Array.isArray(net) && net.includes("0.0.0.0:443"), String(net));
  const off = IntermediateSection.parse({ ...base, listen: "0.0.0.0:4433", tcp_listen: "off" });
  assert.ok(!String(roleNetPermissions({ role: "intermediate", config: off })).includes(":443,"));
});

Deno.test("roleNetPermissions: a UDP forward bound off loopback may answer any host", () => {
  const client = (listen: string, protocol: "tcp" | "udp") =>
    ClientSection.parse({
      relays: [{ address: "relay.example.com:4433" }],
      token_file: "/etc/ztna/client.token",
      ca: "/etc/ztna/ca.pem",
      direct: false,
      forward: [{ listen, service: "dns", protocol }],
    });
  // On loopback: the listener and its host (answers go to local programs' ports), nothing else.
  const local = roleNetPermissions({ role: "client", config: client("127.0.0.1:5353", "udp") });
  assert.ok(Array.isArray(local) && local.includes("127.0.0.1"), String(local));
  // On the LAN: answers go to whichever host sent, which no list names ahead of time.
  const lan = client("198.19.1.2:5353", "udp");
  assert.equal(roleNetPermissions({ role: "client", config: lan }), true);
  // A TCP forward there accepts without sending to its peers' addresses: the list stays exact.
  const tcp = roleNetPermissions({ role: "client", config: client("198.19.1.2:5353", "tcp") });
  assert.ok(Array.isArray(tcp) && tcp.includes("198.19.1.2:5353"), String(tcp));
  // A reload cannot widen a started sandbox to every address: the forward is named.
  assert.deepEqual(listenerOutsideSandbox(local, lan), {
    keyPath: "client.forward[0].listen",
    address: "198.19.1.2:5353",
  });
  assert.equal(listenerOutsideSandbox(local, client("127.0.0.1:5353", "udp")), undefined);
});
