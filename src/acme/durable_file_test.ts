/**
 * Durable replacement: exact mode, old content until the rename, no leftovers on failure, and
 * cleanup of what an interrupted write left.
 * @module
 */
import assert from "node:assert/strict";
import { removeLeftovers, writeFileDurable } from "./durable_file.ts";

Deno.test("writeFileDurable() creates and replaces a file with exactly mode 0600", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/secret.json`;
    await writeFileDurable(path, "one");
    await writeFileDurable(path, "two");
    assert.equal(await Deno.readTextFile(path), "two");
    assert.equal(((await Deno.stat(path)).mode ?? 0) & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["secret.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileDurable() keeps the old content until the new one is complete", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/pair.json`;
    await writeFileDurable(path, "old pair");
    await writeFileDurable(path, "new pair", {
      beforeCommit: async (temporary) => {
        assert.equal(await Deno.readTextFile(temporary), "new pair");
        assert.equal(await Deno.readTextFile(path), "old pair");
      },
    });
    assert.equal(await Deno.readTextFile(path), "new pair");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileDurable() leaves the old file and no temporary file when it fails", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/pair.json`;
    await writeFileDurable(path, "old pair");
    await assert.rejects(
      writeFileDurable(path, "new pair", {
        beforeCommit: () => Promise.reject(new Error("disk gone")),
      }),
      /disk gone/,
    );
    assert.equal(await Deno.readTextFile(path), "old pair");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["pair.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("removeLeftovers() deletes only the target's temporary files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const name of ["pair.json", "pair.json.tmp-0123456789ab", "other.json.tmp-1", "pair"]) {
      await Deno.writeTextFile(`${dir}/${name}`, "x");
    }
    assert.deepEqual(await removeLeftovers(`${dir}/pair.json`), ["pair.json.tmp-0123456789ab"]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "other.json.tmp-1",
      "pair",
      "pair.json",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
