import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { directCandidates, MAX_CANDIDATES, noteObserved } from "./candidates.ts";
import type { RelaySession } from "../transport/mod.ts";

const observed = { hostname: "198.18.0.2", port: 40_000 };

Deno.test("directCandidates puts the observed address first, then IPv4 interfaces", () => {
  const got = directCandidates(observed, 5_000, [
    { family: "IPv4", address: "127.0.0.1" },
    { family: "IPv4", address: "198.19.1.2" },
    { family: "IPv6", address: "fe80::1" },
    { family: "IPv6", address: "2001:db8::5" },
    { family: "IPv4", address: "169.254.3.4" },
    { family: "IPv4", address: "10.0.0.7" },
  ]);
  assert.deepEqual(got, [
    observed,
    { hostname: "198.19.1.2", port: 5_000 },
    { hostname: "10.0.0.7", port: 5_000 },
  ]);
});

Deno.test("directCandidates keeps loopback only for a relay reached over loopback", () => {
  const local = { hostname: "127.0.0.1", port: 5_000 };
  assert.deepEqual(
    directCandidates(local, 5_000, [{ family: "IPv4", address: "127.0.0.1" }]),
    [local], // the same address and port once
  );
  assert.deepEqual(
    directCandidates({ hostname: "127.0.0.1", port: 6_000 }, 5_000, [
      { family: "IPv4", address: "127.0.0.1" },
    ]),
    [{ hostname: "127.0.0.1", port: 6_000 }, local],
  );
});

Deno.test("directCandidates never exceeds the wire's limit", () => {
  const many = Array.from({ length: 20 }, (_, i) => ({
    family: "IPv4" as const,
    address: `10.0.0.${i + 1}`,
  }));
  const got = directCandidates(observed, 5_000, many);
  assert.equal(got.length, MAX_CANDIDATES);
  assert.deepEqual(got[0], observed);
});

Deno.test("noteObserved makes the relay's update the first candidate from now on", () => {
  const session = { observed: { hostname: "198.18.0.2", port: 40_000 } } as RelaySession;
  noteObserved(session, { hostname: "198.18.0.2", port: 41_234 }, getLogger(["test"]));
  assert.deepEqual(session.observed, { hostname: "198.18.0.2", port: 41_234 });
  assert.deepEqual(directCandidates(session.observed, 5_000, [])[0], session.observed);
});
