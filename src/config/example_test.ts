/**
 * Keeps config.example.toml from rotting: it must parse with the schema, name every key of every
 * section, show each default as the schema has it, and use documentation addresses only (M1).
 * @module
 */
import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { allKeys } from "./_schema_walk.ts";
import { parseHostPort } from "../protocol/address.ts";
import { parseConfigText } from "./load.ts";
import { ConfigFile } from "./schema.ts";

const EXAMPLE_URL = new URL("../../config.example.toml", import.meta.url);
const text = await Deno.readTextFile(EXAMPLE_URL);

/** Every value found at a schema path such as `connector.service[].id` (arrays expanded). */
function valuesAt(root: unknown, path: string): unknown[] {
  let current: unknown[] = [root];
  for (const part of path.split(".")) {
    const isArray = part.endsWith("[]");
    const name = isArray ? part.slice(0, -2) : part;
    current = current.flatMap((node) => {
      if (typeof node !== "object" || node === null || !Object.hasOwn(node, name)) return [];
      const value: unknown = Object.getOwnPropertyDescriptor(node, name)?.value;
      return isArray && Array.isArray(value) ? value : [value];
    });
  }
  return current;
}

Deno.test("config.example.toml is valid as written", () => {
  const parsed = parseConfigText("config.example.toml", text);
  assert.ok(parsed.intermediate && parsed.connector && parsed.client);
});

Deno.test("config.example.toml names every key of the schema", () => {
  const raw = parse(text);
  const missing = allKeys(ConfigFile).filter((key) => valuesAt(raw, key.path).length === 0);
  assert.deepEqual(missing.map((key) => key.path), []);
});

Deno.test("config.example.toml shows the schema's default for every key that has one", () => {
  const raw = parse(text);
  for (const key of allKeys(ConfigFile)) {
    if (!key.hasDefault || key.isTable) continue;
    for (const value of valuesAt(raw, key.path)) {
      assert.deepEqual(value, key.defaultValue, `${key.path} should show its default`);
    }
  }
});

/** Every string in a parsed TOML document, depth first. */
function strings(node: unknown): string[] {
  if (typeof node === "string") return [node];
  if (typeof node !== "object" || node === null) return [];
  return Object.values(node).flatMap(strings);
}

const DOCUMENTATION_IP = /^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}$/;
/** Bind-anywhere and loopback: not addresses of anyone's network. */
const LOCAL_IP = /^(0\.0\.0\.0|127\.0\.0\.1)$/;

Deno.test("config.example.toml uses documentation addresses only", () => {
  for (const [ip] of text.matchAll(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g)) {
    assert.ok(
      DOCUMENTATION_IP.test(ip) || LOCAL_IP.test(ip),
      `${ip} is not a documentation address`,
    );
  }
  const raw = parse(text);
  const addresses = strings(raw).map(parseHostPort).flatMap((a) => a.ok ? [a.value.hostname] : []);
  const serverNames = ["connector", "client"].flatMap((r) =>
    valuesAt(raw, `${r}.relays[].server_name`)
  );
  for (const host of [...addresses, ...serverNames]) {
    const allowed = typeof host === "string" &&
      (DOCUMENTATION_IP.test(host) || LOCAL_IP.test(host) || /(^|\.)example\.com$/.test(host));
    assert.ok(allowed, `${host} is not a documentation address`);
  }
});
