/**
 * The dns-01 hook: argv built only from validated values (no shell, no option injection), the
 * error naming the permission to grant, and real runs of a small hook script.
 * @module
 */
import assert from "node:assert/strict";
import { AcmeError } from "./acme_error.ts";
import { checkHookPermission, hookArgs, missingRunPermission, runDnsHook } from "./dns_hook.ts";

const VALUE = "3l5pKMQn-fJ9d0cUGlMRx0g7zLk2v2Xf_H1ZJ1tq5hY";

function code(error: unknown): string | undefined {
  return error instanceof AcmeError ? error.code : undefined;
}

Deno.test("hookArgs() builds action, domain, record name and value", () => {
  assert.deepEqual(hookArgs("present", "relay.example.com", VALUE), [
    "present",
    "relay.example.com",
    "_acme-challenge.relay.example.com",
    VALUE,
  ]);
  assert.deepEqual(hookArgs("cleanup", "relay.example.com", VALUE)[0], "cleanup");
});

Deno.test("hookArgs() puts a wildcard's record on its base name", () => {
  assert.deepEqual(hookArgs("present", "*.example.com", VALUE).slice(1, 3), [
    "example.com",
    "_acme-challenge.example.com",
  ]);
});

Deno.test("hookArgs() refuses values a shell or an option parser would read", async (t) => {
  const domains = [
    "relay.example.com; rm -rf /",
    "$(id).example.com",
    "-rf",
    "--help",
    "relay example.com",
    "Relay.Example.com",
    "relay.example.com\n",
    "",
    `${"a".repeat(64)}.example.com`,
  ];
  for (const domain of domains) {
    await t.step(JSON.stringify(domain), () => {
      assert.throws(() => hookArgs("present", domain, VALUE), (e) => code(e) === "hook_failed");
    });
  }
  for (
    const value of ["", "short", `${VALUE};id`, `${VALUE.slice(1)} `, `$(id)${VALUE.slice(5)}`]
  ) {
    await t.step(`value ${JSON.stringify(value)}`, () => {
      assert.throws(
        () => hookArgs("present", "a.example.com", value),
        (e) => code(e) === "hook_failed",
      );
    });
  }
});

Deno.test("hookArgs() accepts a digest that starts with a dash (it is positional)", () => {
  const value = `-${VALUE.slice(1)}`;
  assert.equal(hookArgs("present", "a.example.com", value)[3], value);
});

Deno.test("missingRunPermission() names the flag that grants the hook", () => {
  const error = missingRunPermission("/etc/ztna/acme-dns-hook");
  assert.equal(error.code, "permission_missing");
  assert.match(error.message, /--allow-run=\/etc\/ztna\/acme-dns-hook/);
});

Deno.test("checkHookPermission() passes when run is granted (the test set grants it)", async () => {
  await checkHookPermission("/bin/true");
});

/** Writes an executable shell script into a fresh folder. */
async function script(body: string): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "ztna-hook-" });
  const path = `${dir}/hook`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  await Deno.chmod(path, 0o755);
  return { path, dir };
}

Deno.test("runDnsHook() passes the argv through unchanged and succeeds on exit 0", async () => {
  const hook = await script('printf "%s\\n" "$@" > "$(dirname "$0")/args"');
  try {
    const args = hookArgs("present", "relay.example.com", VALUE);
    await runDnsHook(args, { hook: hook.path, timeoutMs: 10_000 });
    const seen = (await Deno.readTextFile(`${hook.dir}/args`)).trimEnd().split("\n");
    assert.deepEqual(seen, args);
  } finally {
    await Deno.remove(hook.dir, { recursive: true });
  }
});

Deno.test("runDnsHook() reports a non-zero exit with the hook's stderr", async () => {
  const hook = await script('echo "zone not found" >&2; exit 3');
  try {
    await assert.rejects(
      runDnsHook(hookArgs("present", "a.example.com", VALUE), {
        hook: hook.path,
        timeoutMs: 10_000,
      }),
      (e) => code(e) === "hook_failed" && /exited with 3: zone not found/.test(String(e)),
    );
  } finally {
    await Deno.remove(hook.dir, { recursive: true });
  }
});

Deno.test("runDnsHook() stops a hook that runs too long", async () => {
  const hook = await script("exec sleep 30");
  try {
    await assert.rejects(
      runDnsHook(hookArgs("present", "a.example.com", VALUE), { hook: hook.path, timeoutMs: 200 }),
      (e) => code(e) === "hook_failed" && /did not finish within 200 ms/.test(String(e)),
    );
  } finally {
    await Deno.remove(hook.dir, { recursive: true });
  }
});

Deno.test("runDnsHook() reports a missing hook", async () => {
  await assert.rejects(
    runDnsHook(hookArgs("cleanup", "a.example.com", VALUE), {
      hook: "/nonexistent/ztna-hook",
      timeoutMs: 1_000,
    }),
    (e) => code(e) === "hook_failed" && /not found/.test(String(e)),
  );
});
