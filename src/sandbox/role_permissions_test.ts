/**
 * The relay's sandbox network with the PostgreSQL store: the database's host and port join it,
 * and its password and CA files join the read list (`ztna admin permissions` prints the same).
 * @module
 */
import assert from "node:assert/strict";
import { IntermediateSection } from "../config/schema.ts";
import { roleFiles, roleNetPermissions } from "./role_permissions.ts";

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
