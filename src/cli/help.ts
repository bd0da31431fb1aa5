/**
 * The texts of `ztna --help`, `ztna --role=<role> --help` and `ztna demo --help`. Admin help
 * belongs to the admin command (`ztna admin --help`).
 * Pure: no I/O.
 * @module
 */
import { ENV_VARS, READABLE_FOLDERS, type Role, WRITABLE_FOLDERS } from "../config/mod.ts";
import { VERSION } from "../version.ts";
import type { HelpTopic } from "./args.ts";

const ROLE_SUMMARIES: Record<Role, string> = {
  intermediate: "the public relay; it authenticates peers and splices client flows to connectors",
  connector: "runs beside private services and offers them to clients through the relays",
  client: "listens on local ports and tunnels each connection to a service through a relay",
};

const ENVIRONMENT = Object.entries(ENV_VARS)
  .map(([name, what]) => `  ${name.padEnd(16)} ${what}`)
  .join("\n");

const COMMON = `Flags:
  --role <role>           intermediate, connector or client (also --role=<role>)
  -c, --config <file>     TOML config file, or - for standard input; default: $ZTNA_CONFIG
                          (starting points: examples/*.toml; every key: config.example.toml)
  --log-level <level>     debug, info, warning or error (default: info)
  --log-format <format>   text or json, one line per record on stderr (default: text)
  -h, --help              this help; with --role, help for that role
  --version               print the version

Environment:
${ENVIRONMENT}

Precedence: command-line flag > ZTNA_* environment variable > config file > built-in default.
Relative paths in the config file are resolved against the config file's folder.
Files: the binary may read only under ${READABLE_FOLDERS};
write only under ${WRITABLE_FOLDERS}
(a running role gives up /etc/ztna at start). In production: configs, keys, certificates and
tokens in /etc/ztna, relay state in /var/lib/ztna. Without root (a laptop, a CI job):
--config - < file, with the CA's PEM text as ca and the token in ZTNA_TOKEN.

Signals: SIGINT or SIGTERM drains and stops (a second one exits at once with 130);
SIGHUP reloads certificates, keys, revocations and admin token hashes (relay), and a client's
forwards and proxy endpoints.
Exit status: 0 stopped cleanly, 1 failed, 2 wrong command line or config file.`;

const GENERAL = `ztna ${VERSION}: zero-trust gateway over QUIC; one binary, three roles.

Usage:
  ztna --role=<role> --config <file> [--log-level <level>] [--log-format <format>]
  ztna --role=<role> --help      help for one role
  ztna demo                      every role on loopback, to try ztna on one machine
  ztna connect <service>         one flow on stdin/stdout (SSH: ProxyCommand ztna connect %h)
  ztna doctor --config <file>    why a client or connector cannot connect, and the fix
  ztna admin --help              certificates, tokens and the admin API
  ztna --version

Roles:
${Object.entries(ROLE_SUMMARIES).map(([r, s]) => `  ${r.padEnd(13)} ${s}`).join("\n")}

${COMMON}
`;

const ROLE_DETAILS: Record<Role, string> = {
  intermediate: `Needs an [intermediate] section:
  listen              host:port to accept QUIC on (default 0.0.0.0:4433)
  cert, key           PEM certificate chain and private key of the relay
  token_public_keys   PEM public keys that verify connector and client tokens
  revocation_file     list of revoked tokens; may not exist yet (then nothing is revoked)
  state_dir           folder for the relay's state: "/var/lib/ztna" in production
                      (default "state", next to the config file)
  [intermediate.limits] caps on connections, flows and handshake times
  [intermediate.admin]  admin endpoint: API, /metrics, dashboard (default 127.0.0.1:4434)
See examples/relay.toml for a complete small config.
At startup cert, key and every public key must exist and hold PEM text.`,
  connector: `Needs a [connector] section:
  relays              [{ address = "relay.example.com:4433" }, …], at least one
  ca                  CA bundle trusted for relay certificates: a PEM file or the PEM text
                      (optional; leave it out for a public CA)
  token_file          file holding this connector's token; ZTNA_TOKEN overrides it
  [[connector.service]] id = "<service id>", backend = "host:port" — the only address
                      that service may reach
The token comes from ZTNA_TOKEN or token_file; one of them is required.`,
  client: `Needs a [client] section:
  relays              [{ address = "relay.example.com:4433" }, …], at least one
  ca                  CA bundle trusted for relay certificates: a PEM file or the PEM text
                      (optional; leave it out for a public CA)
  token_file          file holding this client's token; ZTNA_TOKEN overrides it
  [[client.forward]]  listen = "127.0.0.1:<port>", service = "<service id>"
  status_listen       "127.0.0.1:<port>": /metrics (Prometheus) and /status (JSON); default off
The token comes from ZTNA_TOKEN or token_file; one of them is required.

Or no config file: the same from flags (beside --config they add to the file):
  --relay <host:port>       the relay; default $ZTNA_RELAY (wins over relays)
  --server-name <name>      TLS name of the relay; default $ZTNA_SERVER_NAME
  --ca <file>               CA bundle for the relay (PEM file or text); default $ZTNA_CA
  --forward <svc>=[host:]<port>[/udp]   one forward, repeatable; a bare port is 127.0.0.1
  --socks [host:]<port>     SOCKS5 endpoint (loopback only)
  e.g. ztna --role=client --relay relay.example.com:4433 --forward web=8080 --socks 1080`,
};

const DEMO = `ztna demo: runs a relay, a connector, a client and a small backend on loopback
to try ztna on one machine, until SIGINT or SIGTERM.

Usage:
  ztna demo [--log-level <level>] [--log-format <format>]

--log-level and --log-format override ZTNA_LOG_LEVEL and ZTNA_LOG_FORMAT; no config file is read.
`;

const CONNECT = `ztna connect: joins standard input and output to one flow to a service, for
OpenSSH (like "cloudflared access ssh"). In ~/.ssh/config:

  Host *.ztna
    ProxyCommand ztna connect %h

Usage:
  ztna connect <service> [--relay <host:port>] [--server-name <name>] [--ca <file>]
               [--config <file>] [--log-level <level>] [--log-format <format>]

  <service>              a service id, or <id>.<service_suffix> ("web" or "web.ztna")
  --relay <host:port>    the relay; default $ZTNA_RELAY, else the relays of --config
  --server-name <name>   TLS name the relay's certificate must carry; default $ZTNA_SERVER_NAME,
                         else the host of --relay
  --ca <file>            CA bundle trusted for the relay (a PEM file or the PEM text);
                         default $ZTNA_CA, else the config's ca, else the system roots
  -c, --config <file>    a client config (relays, ca, token_file, service_suffix); its forwards
                         and proxy endpoints are not opened; default $ZTNA_CONFIG
The token comes from ZTNA_TOKEN, else the config's token_file.
Standard output carries the service's bytes only; logs go to standard error (default level
warning). Exit status: 0 when the flow ended, 1 when it could not open, 2 wrong command line.
`;

const DOCTOR = `ztna doctor: checks, for a client or connector whose connection fails, every
relay of its config: name resolution, QUIC with a real HELLO (round trip, identity, grants),
TCP/TLS, the certificate, the token (validity, expiry, grants), the NAT's mapping seen from the
relays, a direct path to --service, and the HTTP proxy; then one line with the verdict and the fix.

Usage:
  ztna doctor [--config <file>] [--relay <host:port>] [--server-name <name>] [--ca <file>]
              [--service <service>] [--json]

  -c, --config <file>    a client or connector config (relays, ca, token_file, proxy);
                         default $ZTNA_CONFIG
  --relay <host:port>    a relay to check instead of the config's; default $ZTNA_RELAY
  --server-name <name>   TLS name of the relay; default $ZTNA_SERVER_NAME
  --ca <file>            CA bundle for the relay (PEM file or text); default $ZTNA_CA
  --service <service>    also check the token grants it and whether a direct path is possible
  --json                 print the report as JSON (docs/OPERATIONS.md describes it)
The token comes from ZTNA_TOKEN, else token_file; the proxy from proxy, else HTTPS_PROXY.
Exit status: 0 when a usable path to a relay exists, 1 when none does, 2 wrong command line or
config.
`;

/** The help text for `topic`, or the general help when none is given. Ends with a newline. */
export function helpText(topic?: HelpTopic): string {
  if (topic === undefined) return GENERAL;
  if (topic === "demo") return DEMO;
  if (topic === "connect") return CONNECT;
  if (topic === "doctor") return DOCTOR;
  return `ztna --role=${topic}
${ROLE_SUMMARIES[topic]}.

Usage:
  ztna --role=${topic} --config <file> [--log-level <level>] [--log-format <format>]

${ROLE_DETAILS[topic]}
Every key and its default is documented in config.example.toml.

${COMMON}
`;
}
