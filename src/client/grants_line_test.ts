import assert from "node:assert/strict";
import { grantsLine } from "./grants_line.ts";

const forwards = [
  { listen: "127.0.0.1:8080", service: "web", protocol: "tcp" as const },
  { listen: "127.0.0.1:5353", service: "dns", protocol: "udp" as const },
];

Deno.test("grantsLine names each granted service's local places, proxies by name", () => {
  assert.equal(
    grantsLine(
      ["web", "dns", "db"],
      forwards,
      [{ kind: "socks", listen: "127.0.0.1:1080" }],
      "ztna",
    ),
    "web → 127.0.0.1:8080, socks5://127.0.0.1:1080 as web.ztna; " +
      "dns → 127.0.0.1:5353/udp, socks5://127.0.0.1:1080 as dns.ztna; " +
      "db → socks5://127.0.0.1:1080 as db.ztna",
  );
});

Deno.test("grantsLine says not forwarded without a place, and every service for *", () => {
  assert.equal(grantsLine(["db"], forwards, [], "ztna"), "db → not forwarded");
  assert.equal(grantsLine(["*"], forwards, [], "ztna"), "every service");
  assert.equal(
    grantsLine(["*"], [], [{ kind: "http", listen: "127.0.0.1:3128" }], "ztna"),
    "every service (by name at 127.0.0.1:3128)",
  );
});
