/**
 * TEST BUILD ONLY: the connector's egress Worker (src/connector/egress_worker.ts), which first
 * tries the address the test names; its permissions are the production ones.
 * @module
 */
import { z } from "zod";
import { serveWorker } from "../../src/connector/egress_worker.ts";
import { report } from "./_probe.ts";

const Start = z.object({ type: z.literal("start"), test: z.object({ probe: z.string() }) });

serveWorker();
const scope = self as unknown as Worker;
const serve = scope.onmessage;
scope.onmessage = (event: MessageEvent) => {
  const start = Start.safeParse(event.data);
  const run = () => serve?.call(scope, event);
  if (!start.success) return run();
  report("sandbox", start.data.test.probe).then(run);
};
