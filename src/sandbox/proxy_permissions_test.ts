/**
 * The dialers' sandbox network with an HTTP proxy: the proxy's host:port (80 when the URL names
 * none) joins the client's and the connector's `net`, and the credentials file the read list
 * (`ztna admin permissions` prints the same).
 * @module
 */
import assert from "node:assert/strict";
import { ClientSection, ConnectorSection } from "../config/schema.ts";
import { roleFiles, roleNetPermissions } from "./role_permissions.ts";

const dialer = {
  relays: [{ address: "relay.example.com:443" }],
  direct: false,
  proxy: "http://proxy.example.com:3128",
  proxy_credentials_file: "/etc/ztna/proxy.credentials",
};

Deno.test("roleNetPermissions: a client and a connector behind a proxy may reach it", () => {
  const client = ClientSection.parse({ ...dialer, socks: "127.0.0.1:1080" });
  const net = roleNetPermissions({ role: "client", config: client });
  assert.ok(Array.isArray(net) && net.includes("proxy.example.com:3128"), String(net));
  assert.ok(
    roleFiles({ role: "client", config: client }, undefined).read.includes(
      "/etc/ztna/proxy.credentials",
    ),
  );
  const connector = ConnectorSection.parse({
    ...dialer,
    proxy: "http://proxy.example.com",
    service: [{ id: "web", backend: "192.0.2.10:80" }],
  });
  const egress = roleNetPermissions({ role: "connector", config: connector });
  assert.ok(Array.isArray(egress) && egress.includes("proxy.example.com:80"), String(egress));
  const { proxy: _p, ...noProxy } = dialer;
  const plain = roleNetPermissions({
    role: "client",
    config: ClientSection.parse({ ...noProxy, socks: "127.0.0.1:1080" }),
  });
  assert.ok(Array.isArray(plain) && !plain.some((e) => e.startsWith("proxy.example.com")));
});
