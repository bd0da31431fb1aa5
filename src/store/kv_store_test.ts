/**
 * The store contract on Deno KV, plus what only a real file shows: records survive reopening and
 * `kill -9` right after a write was acknowledged, and a damaged record is refused when read back.
 * @module
 */
import assert from "node:assert/strict";
import { KV_FILE_NAME, KvStore, openKvStore } from "./kv_store.ts";
import { sampleCredential, storeContract } from "./store_contract.ts";
import { StoreCorruptError } from "./store.ts";

async function freshPath(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "ztna-kv-" });
  return {
    path: `${dir}/${KV_FILE_NAME}`,
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

storeContract("KvStore", async () => {
  const { path, cleanup } = await freshPath();
  return { store: await openKvStore(path), cleanup };
});

Deno.test("KvStore keeps credentials and revocations across a reopen", async () => {
  const { path, cleanup } = await freshPath();
  try {
    {
      using store = await openKvStore(path);
      await store.putCredential(sampleCredential(1));
      await store.revoke({ tokenId: sampleCredential(1).tokenId, revokedAt: 5, revokedBy: "x" });
    }
    using again = await openKvStore(path);
    assert.equal((await again.getCredential(sampleCredential(1).tokenId))?.revokedAt, 5);
    assert.deepEqual((await again.listRevocations()).map((r) => r.tokenId), [
      sampleCredential(1).tokenId,
    ]);
  } finally {
    await cleanup();
  }
});

Deno.test("KvStore refuses a stored record that does not match its schema", async () => {
  const { path, cleanup } = await freshPath();
  try {
    using store = await openKvStore(path);
    await store.kv.set(["revoked", "tamperedTokenId000000"], { tokenId: 42 });
    await assert.rejects(() => store.listRevocations(), StoreCorruptError);
    await store.kv.set(["cred", "tamperedTokenId000000"], "yesterday");
    await assert.rejects(() => store.getCredential("tamperedTokenId000000"), StoreCorruptError);
  } finally {
    await cleanup();
  }
});

const WRITER = (storeUrl: string, path: string) => `
import { openKvStore } from ${JSON.stringify(storeUrl)};
const store = await openKvStore(${JSON.stringify(path)});
for (let i = 0; ; i++) {
  await store.revoke({ tokenId: "kill" + String(i).padStart(18, "0"), revokedAt: i, revokedBy: "t" });
  console.log("acked " + i);
}
`;

Deno.test("KvStore keeps every acknowledged write when the process is killed with SIGKILL", async () => {
  const { path, cleanup } = await freshPath();
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        "--unstable-kv",
        "--config",
        new URL("../../deno.json", import.meta.url).pathname,
        WRITER(new URL("./kv_store.ts", import.meta.url).href, path),
      ],
      stdout: "piped",
      stderr: "inherit",
      stdin: "null",
    }).spawn();
    let acked = -1;
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      text += decoder.decode(chunk, { stream: true });
      for (const m of text.matchAll(/acked (\d+)\n/g)) acked = Math.max(acked, Number(m[1]));
      if (acked >= 40) {
        child.kill("SIGKILL");
        break;
      }
    }
    const status = await child.status;
    assert.equal(status.signal, "SIGKILL");
    using store = new KvStore(await Deno.openKv(path));
    const ids = new Set((await store.listRevocations()).map((r) => r.tokenId));
    for (let i = 0; i <= acked; i++) {
      assert.ok(ids.has(`kill${String(i).padStart(18, "0")}`), `acknowledged write ${i} survives`);
    }
  } finally {
    await cleanup();
  }
});
