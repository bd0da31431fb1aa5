/**
 * Repository hygiene (H4, M1, I2, I3, L1): no private key or token is tracked by git, generated
 * material is ignored, no code hard-codes a routable address, no tracked file holds a developer's
 * absolute path, and no code blocks the event loop with synchronous I/O.
 * @module
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "../_helpers/ztna_process.ts";

async function git(...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", {
    args,
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, `git ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

async function trackedFiles(): Promise<string[]> {
  return (await git("ls-files", "-z")).split("\0").filter(Boolean);
}

// A PEM private key with a real body (a bare marker in a parser test is not a key).
const PRIVATE_KEY = /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----\s*[A-Za-z0-9+/=\s]{40,}-----END/;
// A compact JWS: base64url JSON header ("eyJ") . payload . signature.
const TOKEN = /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}/;

Deno.test("repository tracks no private key and no token", async () => {
  const offenders: string[] = [];
  for (const file of await trackedFiles()) {
    let text: string;
    try {
      text = await Deno.readTextFile(`${REPO_ROOT}/${file}`);
    } catch {
      continue; // deleted in the work tree, or not text
    }
    if (PRIVATE_KEY.test(text) || TOKEN.test(text)) offenders.push(file);
  }
  assert.deepEqual(offenders, []);
});

Deno.test("repository ignores generated certificates, state and build output", async () => {
  for (const path of ["certs/dev/relay.key", "certs/ca.key", "state/x", "dist/ztna", ".tools/x"]) {
    const out = await new Deno.Command("git", {
      args: ["check-ignore", "-q", path],
      cwd: REPO_ROOT,
    }).output();
    assert.ok(out.success, `${path} must be git-ignored`);
  }
});

Deno.test("source code hard-codes no routable IPv4 address", async () => {
  const allowed = /^(127\.|0\.0\.0\.0$|192\.0\.2\.|198\.51\.100\.|203\.0\.113\.|198\.1[89]\.)/;
  const offenders: string[] = [];
  for (const file of await trackedFiles()) {
    if (!/^(src|main\.ts|config\.example\.toml)/.test(file) || file.endsWith("_test.ts")) continue;
    const text = await Deno.readTextFile(`${REPO_ROOT}/${file}`);
    for (const m of text.matchAll(/\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b/g)) {
      if (!allowed.test(m[1])) offenders.push(`${file}: ${m[1]}`);
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("no tracked file holds a developer's absolute path (home folders, this checkout)", async () => {
  // Documentation examples (/etc/ztna, /var/lib/ztna) and scratch paths (/tmp) are not personal.
  const personal = [
    /\/home\/[a-z_][\w.-]*\//,
    /\/Users\/[A-Za-z_][\w.-]*\//,
    /\/root\/[\w.-]/,
    /[A-Z]:\\Users\\/,
  ];
  const offenders: string[] = [];
  for (const file of await trackedFiles()) {
    let text: string;
    try {
      text = await Deno.readTextFile(`${REPO_ROOT}/${file}`);
    } catch {
      continue; // deleted in the work tree, or not text
    }
    const hit = [...personal, new RegExp(RegExp.escape(`${REPO_ROOT}/`))]
      .map((re) => text.match(re)?.[0])
      .find((m) => m !== undefined);
    if (hit !== undefined) offenders.push(`${file}: ${hit}`);
  }
  assert.deepEqual(offenders, []);
});

Deno.test("code never blocks the event loop with synchronous Deno I/O (L1)", async () => {
  const offenders: string[] = [];
  for (const file of await trackedFiles()) {
    if (!/^(src\/|main\.ts$)/.test(file) || file.endsWith("_test.ts")) continue;
    const text = await Deno.readTextFile(`${REPO_ROOT}/${file}`);
    for (const m of text.matchAll(/\bDeno\.\w+Sync\(/g)) offenders.push(`${file}: ${m[0]}`);
  }
  assert.deepEqual(offenders, []);
});
