/**
 * Baseline: TLS with stunnel, client stunnel → server stunnel → backend, the classic "wrap a TCP
 * service in TLS" tunnel. The server presents the bench's dev certificate (the relay's); the client
 * verifies its chain against the dev CA and its name (`checkHost = localhost`). Both set
 * TCP_NODELAY on both sockets, as every other bench path does; TLS version and ciphers are OpenSSL's
 * defaults (TLS 1.3 here).
 * @module
 */
import { freeTcpPort } from "../../tests/_helpers/cluster.ts";
import { HelperProcess } from "../helper_process.ts";

/** Readiness line of stunnel at `debug = 5`. */
const READY = /Configuration successful/;

/** TLS material from the bench's dev PKI. */
export interface StunnelPki {
  caCertPath: string;
  certPath: string;
  keyPath: string;
}

/** The two stunnel processes; `port` is the client's accepting port. */
export interface StunnelBaseline extends AsyncDisposable {
  port: number;
}

/** Writes both configs into `dir` and starts server and client stunnel. */
export async function startStunnel(
  program: string,
  options: { dir: string; pki: StunnelPki; backendPort: number },
): Promise<StunnelBaseline> {
  const { dir, pki, backendPort } = options;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await using stack = new AsyncDisposableStack();
  const serverPort = freeTcpPort();
  const clientPort = freeTcpPort();
  const common = "foreground = yes\npid =\ndebug = 5\n";
  const nodelay = "socket = l:TCP_NODELAY=1\nsocket = r:TCP_NODELAY=1\n";
  await Deno.writeTextFile(
    `${dir}/server.conf`,
    `${common}[bench]\naccept = 127.0.0.1:${serverPort}\nconnect = 127.0.0.1:${backendPort}\n` +
      `cert = ${pki.certPath}\nkey = ${pki.keyPath}\n${nodelay}`,
  );
  await Deno.writeTextFile(
    `${dir}/client.conf`,
    `${common}[bench]\nclient = yes\naccept = 127.0.0.1:${clientPort}\n` +
      `connect = 127.0.0.1:${serverPort}\nverifyChain = yes\nCAfile = ${pki.caCertPath}\n` +
      `checkHost = localhost\n${nodelay}`,
  );
  const server = stack.use(
    new HelperProcess(program, [`${dir}/server.conf`], { name: "stunnel server" }),
  );
  await server.waitFor(READY);
  const client = stack.use(
    new HelperProcess(program, [`${dir}/client.conf`], { name: "stunnel client" }),
  );
  await client.waitFor(READY);
  const running = stack.move();
  return { port: clientPort, [Symbol.asyncDispose]: () => running.disposeAsync() };
}
