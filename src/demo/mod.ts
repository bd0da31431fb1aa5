/**
 * `ztna demo`: relay, connector, client and a small HTTP backend in one process on loopback, with a
 * dev CA and fresh tokens generated on the fly, so a newcomer sees a flow cross the tunnel in seconds.
 * Every part is the real role code; only the wiring is shortened.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { generateSigningKeyPair, issueToken } from "../auth/mod.ts";
import type { RunContext } from "../runtime/run_context.ts";
import { ClientSection, ConnectorSection, IntermediateSection } from "../config/schema.ts";
import { runClient } from "../client/mod.ts";
import { runConnector } from "../connector/mod.ts";
import { generateDevPki } from "../pki/dev_pki.ts";
import { runIntermediate } from "../relay/mod.ts";
import { freeTcpPort, freeUdpPort } from "./free_port.ts";
import { generateAdminToken, hashAdminToken } from "../admin/mod.ts";

const log = getLogger(["ztna", "demo"]);

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Folder for the dev CA and relay certificate. @default {"certs/dev"} */
  certDir?: string;
  /** Folder for the demo's token public key. @default {"state/demo"} */
  stateDir?: string;
}

/** Runs the whole tunnel on loopback until `ctx.signal` aborts. */
export async function runDemo(ctx: RunContext, options: DemoOptions = {}): Promise<void> {
  const { certDir = "certs/dev", stateDir = "state/demo" } = options;
  const pki = await generateDevPki({ outDir: certDir });
  await Deno.mkdir(stateDir, { recursive: true });
  const keys = await generateSigningKeyPair();
  const publicKeyPath = `${stateDir}/token-signing.pub`;
  await Deno.writeTextFile(publicKeyPath, keys.publicPem);
  const { connectorToken, clientToken } = await demoTokens(keys.privatePem);
  const backend = serveBackend(ctx.signal);
  const relayAddress = `127.0.0.1:${freeUdpPort()}`;
  const adminAddress = `127.0.0.1:${freeTcpPort()}`;
  const adminToken = generateAdminToken();
  const forwardAddress = `127.0.0.1:${freeTcpPort()}`;
  const relayTarget = { address: relayAddress, server_name: "localhost" };

  const relay = runIntermediate(
    IntermediateSection.parse({
      listen: relayAddress,
      cert: pki.certPath,
      key: pki.keyPath,
      token_public_keys: [publicKeyPath],
      state_dir: stateDir,
      drain_timeout_ms: 1_000,
      admin: { listen: adminAddress, token_hashes: [await hashAdminToken(adminToken)] },
    }),
    ctx,
    // Three roles share this one process: relay-only memory settings do not belong here.
    { memoryHint: false },
  );
  const connector = runConnector(
    ConnectorSection.parse({
      relays: [relayTarget],
      ca: pki.caCertPath,
      service: [{ id: "web", backend: `127.0.0.1:${backend.addr.port}` }],
    }),
    connectorToken.token,
    ctx,
  );
  const client = runClient(
    ClientSection.parse({
      relays: [relayTarget],
      ca: pki.caCertPath,
      forward: [{ listen: forwardAddress, service: "web" }],
    }),
    clientToken.token,
    ctx,
  );

  const ready = await probe(`http://${forwardAddress}/`, ctx.signal);
  if (ready) {
    log.info("Demo ready: backend → connector → relay {relay} → client {forward}", {
      relay: relayAddress,
      forward: forwardAddress,
    });
    // The one line a newcomer needs, on stdout so it stays visible between the log lines on stderr.
    await Deno.stdout.write(
      new TextEncoder().encode(
        `\nTry it:  curl http://${forwardAddress}/\n\n` +
          `Dashboard: http://${adminAddress}/  (admin token for this demo only: ${adminToken})\n\n` +
          "Ctrl-C stops the demo.\n\n",
      ),
    );
  } else if (!ctx.signal.aborted) {
    log.error("Demo did not become ready within 20 s; see the log lines above");
  }
  await Promise.all([relay, connector, client, backend.finished]);
}

/** A connector token and a client token for the one demo service, valid for a day. */
async function demoTokens(privatePem: string) {
  const common = { services: ["web"], ttlSeconds: 86_400 };
  return {
    connectorToken: await issueToken(privatePem, {
      subject: "demo-connector",
      role: "connector",
      ...common,
    }),
    clientToken: await issueToken(privatePem, { subject: "demo-user", role: "client", ...common }),
  };
}

/** The private backend: a small HTTP server on loopback that says where the request came through. */
function serveBackend(signal: AbortSignal): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal, onListen: () => {} },
    (req) =>
      new Response(
        `Hello from the private backend, reached through ztna (${req.method} ${
          new URL(req.url).pathname
        })\n`,
      ),
  );
}

async function probe(url: string, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + 20_000;
  while (!signal.aborted && Date.now() < deadline) {
    try {
      const res = await fetch(url, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(3_000)]),
      });
      await res.body?.cancel();
      if (res.ok) return true;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}
