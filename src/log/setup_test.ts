/**
 * Tests of the process-wide logging setup, writing into an array instead of stderr.
 * @module
 */
import assert from "node:assert/strict";
import { getLogger, resetSync } from "@logtape/logtape";
import { configureLogging } from "./setup.ts";

Deno.test("configureLogging() filters by level and routes ztna categories only", () => {
  const lines: string[] = [];
  configureLogging({ level: "warning", format: "json" }, { write: (line) => lines.push(line) });
  try {
    getLogger(["ztna", "relay"]).info("dropped");
    getLogger(["ztna", "relay"]).warn("kept {n}", { n: 1 });
    getLogger(["elsewhere"]).error("not ours");
    assert.equal(lines.length, 1);
    assert.equal(JSON.parse(lines[0]).message, "kept 1");
  } finally {
    resetSync();
  }
});

Deno.test("configureLogging() can be called again to switch format", () => {
  const lines: string[] = [];
  const write = (line: string) => lines.push(line);
  configureLogging({ level: "info", format: "json" }, { write });
  configureLogging({ level: "debug", format: "text" }, { write });
  try {
    getLogger(["ztna"]).debug("hello");
    assert.match(lines[0], /^\S+Z DEBUG ztna: hello\n$/);
  } finally {
    resetSync();
  }
});
