import assert from "node:assert/strict";
import type { Logger } from "@logtape/logtape";
import { quietLogger } from "./quiet_log.ts";

/** A logger stub recording `level message` lines; `with` shares the record. */
function recorder(lines: string[]): Logger {
  const at = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  const stub = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    with: () => stub,
  };
  return stub as unknown as Logger;
}

Deno.test("quietLogger turns info, warn and error into debug while quiet, also after with()", () => {
  const lines: string[] = [];
  let quiet = false;
  const log = quietLogger(recorder(lines), () => quiet);
  log.warn("first");
  quiet = true;
  log.warn("second");
  log.with({ relay: "r" }).error("third");
  log.info("fourth");
  quiet = false;
  log.with({ relay: "r" }).info("fifth");
  assert.deepEqual(lines, [
    "warn first",
    "debug second",
    "debug third",
    "debug fourth",
    "info fifth",
  ]);
});
