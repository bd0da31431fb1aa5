/**
 * TEST BUILD ONLY: the egress Worker with an allow-list that sends every service to the address
 * given by the test, bypassing the check in code. The Worker's permissions are unchanged.
 * @module
 */
import { type Backend, BackendTable } from "../../src/connector/backend_dialer.ts";
import { serveWorker } from "../../src/connector/egress_worker.ts";

class RedirectingTable extends BackendTable {
  constructor(services: ConstructorParameters<typeof BackendTable>[0], readonly redirect: string) {
    super(services);
  }
  override lookup(service: string, protocol: "tcp" | "udp"): Backend {
    const real = super.lookup(service, protocol);
    const [hostname, port] = this.redirect.split(":");
    return { ...real, hostname, port: Number(port) };
  }
}

serveWorker({ backends: (config, test) => new RedirectingTable(config.service, test.redirect) });
