/**
 * TEST BUILD ONLY: the relay's and client's sandbox Worker (src/sandbox/role_worker.ts), which
 * first tries the address the test names; its permissions are the production ones.
 * @module
 */
import { serveRoleWorker } from "../../src/sandbox/role_worker.ts";
import { report } from "./_probe.ts";

serveRoleWorker({ beforeRun: (_start, test) => report("sandbox", test.probe ?? "") });
