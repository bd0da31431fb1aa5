/**
 * A role gives up writing /etc/ztna and ./certs but keeps its state folders (Deno revokes per
 * path). Runs a child under the shipped permission set, as the binary runs.
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("dropRoleWriteAccess() revokes /etc/ztna and ./certs, keeps ./state and /var/lib/ztna", async () => {
  const code = `
    import { dropRoleWriteAccess } from "${ROOT}src/cli/drop_permissions.ts";
    const q = async (path) => (await Deno.permissions.query({ name: "write", path })).state;
    const paths = ["/etc/ztna", "${ROOT}certs", "${ROOT}state", "/var/lib/ztna"];
    const before = await Promise.all(paths.map(q));
    await dropRoleWriteAccess();
    console.log(JSON.stringify({ before, after: await Promise.all(paths.map(q)) }));
  `;
  // A script file and `deno run`: `deno eval` grants everything whatever -P says.
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(script, code);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "--config", `${ROOT}deno.json`, "-P=ztna", script],
  }).output();
  await Deno.remove(script);
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.deepEqual(JSON.parse(text), {
    before: ["granted", "granted", "granted", "granted"],
    after: ["prompt", "prompt", "granted", "granted"],
  });
});
