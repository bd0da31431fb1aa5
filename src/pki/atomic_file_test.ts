/**
 * Tests of writeFileAtomic(): modes, replace or fail, no temporary files left behind.
 * @module
 */
import assert from "node:assert/strict";
import { writeFileAtomic } from "./atomic_file.ts";

Deno.test("writeFileAtomic() writes with the requested mode and replaces by default", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ztna-atomic-" });
  try {
    const path = `${dir}/secret`;
    await Deno.writeTextFile(path, "old", { mode: 0o666 });
    await Deno.chmod(path, 0o666);
    await writeFileAtomic(path, "new");
    assert.equal(await Deno.readTextFile(path), "new");
    assert.equal(((await Deno.stat(path)).mode ?? 0) & 0o777, 0o600);
    await writeFileAtomic(`${dir}/public`, "p", { mode: 0o644 });
    assert.equal(((await Deno.stat(`${dir}/public`)).mode ?? 0) & 0o777, 0o644);
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
      "public",
      "secret",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic() with ifExists fail leaves an existing file alone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ztna-atomic-" });
  try {
    await writeFileAtomic(`${dir}/k`, "first", { ifExists: "fail" });
    await assert.rejects(
      writeFileAtomic(`${dir}/k`, "second", { ifExists: "fail" }),
      Deno.errors.AlreadyExists,
    );
    assert.equal(await Deno.readTextFile(`${dir}/k`), "first");
    assert.equal(((await Deno.stat(`${dir}/k`)).mode ?? 0) & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic() leaves no temporary file behind when the rename fails", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ztna-atomic-" });
  try {
    await Deno.mkdir(`${dir}/target`); // renaming a file over a non-empty directory fails
    await Deno.writeTextFile(`${dir}/target/x`, "");
    await assert.rejects(writeFileAtomic(`${dir}/target`, "data"));
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["target"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
