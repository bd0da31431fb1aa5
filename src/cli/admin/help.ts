/**
 * The texts of `ztna admin --help` and of each admin command's `--help`.
 * Pure: no I/O.
 * @module
 */
import { WRITABLE_FOLDERS } from "../../config/permission_set.ts";

/** `ztna admin --help`. */
export const ADMIN_HELP = `ztna admin: keys, tokens and certificates for a ztna deployment, and the
commands that steer a running relay through its admin endpoint.

Usage:
  ztna admin keygen --out <dir> [--name <name>] [--force]
  ztna admin token issue --signing-key <file> --role <role> --service <id>... --subject <name>
                         [--ttl <duration>] [--out <file>]
  ztna admin token revoke --id <token-id> --config <relay.toml> | --revocation-file <file>
                          [--reason <text>]
  ztna admin dev-certs --out <dir> [--name <name>]... [--valid-days <days>]
  ztna admin permissions --role <role> --config <file>
  ztna admin policy test (--policy <file> | --config <relay.toml>)
  ztna admin policy explain --identity <id> --service <id> (--policy <file> | --config <relay.toml>)
  ztna admin admin-token create [--out <file>]
  ztna admin admin-token hash --token-file <file>
  ztna admin connections|services|fleet|audit
                                         --admin-token-file <file> [--url <url>] [--ca <file>]
  ztna admin tokens list|issue|revoke    --admin-token-file <file> ...
                                         (every command that calls a relay also takes --json)
  ztna admin kick --conn <connId>        --admin-token-file <file> ...
  ztna admin <command> --help

Offline commands (files only):
  keygen              make the Ed25519 key pair that signs tokens; relays get the .pub file
  token issue         sign a token for a client or connector
  token revoke        add a token id to the relay's revocation list
  dev-certs           make a private CA and a relay certificate signed by it
  permissions         print the Deno flags that run a role with its config and nothing more
  policy test         load an access policy as the relay would and run its tests
  policy explain      allow or deny for an identity and service, and the rule that decided
  admin-token create  make an admin token for the admin endpoint and print its hash
  admin-token hash    print the hash of an existing admin token

Commands that call a relay's admin endpoint (default --url http://127.0.0.1:4434):
  connections         live peer connections
  services            services and their connector pools
  fleet               the relays of the fleet: addresses, health, peers, heartbeat age
  tokens list         tokens issued through the relay (metadata only)
  tokens issue        issue a token with the relay's signing key
  tokens revoke       revoke a token now; live connections using it are closed
  kick                close one connection (the peer may reconnect)
  audit               the admin audit log, newest first

The ztna binary may write only under ${WRITABLE_FOLDERS}:
keys, certificates and tokens belong in /etc/ztna.
Exit status: 0 done, 1 failed, 2 wrong command line.
`;

/** The flags every command that calls the admin endpoint takes. */
const REMOTE_FLAGS_HELP =
  `  --admin-token-file <file>  file holding an admin token (never the token on the command line)
  --url <url>                the relay's admin endpoint (default: http://127.0.0.1:4434)
  --ca <file>                CA bundle to verify an https endpoint with (e.g. certs/dev/ca.crt)
  --json                     print the relay's JSON answer instead of a table
  -h, --help                 this help`;

/** `ztna admin connections --help`. */
export const CONNECTIONS_HELP =
  `Usage: ztna admin connections --admin-token-file <file> [--url <url>] [--json]

Lists the relay's open peer connections: id, identity, role, token id, remote address,
services, bytes in and out, connected since. The token id finds tokens issued offline, which
"tokens list" does not know; "tokens revoke --id" revokes them.

Flags:
${REMOTE_FLAGS_HELP}
`;

/** `ztna admin services --help`. */
export const SERVICES_HELP =
  `Usage: ztna admin services --admin-token-file <file> [--url <url>] [--json]

Lists every service the relay has seen, its health (up: a connector is online) and its pool.

Flags:
${REMOTE_FLAGS_HELP}
`;

/** `ztna admin fleet --help`. */
export const FLEET_HELP = `Usage: ztna admin fleet --admin-token-file <file> [--url <url>] [--json]

Lists the relays of the fleet as this relay last read the store's fleet table: id, advertised
addresses, health (up, draining, stale: no heartbeat within expiry_ms), peers, flows and the age
of the last heartbeat. With the embedded store the fleet is this relay alone.

Flags:
${REMOTE_FLAGS_HELP}
`;

/** `ztna admin tokens --help`. */
export const TOKENS_HELP = `Usage:
  ztna admin tokens list --help
  ztna admin tokens issue --help
  ztna admin tokens revoke --help

Commands (through the relay's admin endpoint; "ztna admin token ..." works offline):
  list     tokens issued through the relay, metadata only
  issue    issue a token with the relay's token_signing_key
  revoke   revoke a token; the relay closes its live connections at once
`;

/** `ztna admin tokens list --help`. */
export const TOKENS_LIST_HELP =
  `Usage: ztna admin tokens list --admin-token-file <file> [--limit <n>] [--url <url>] [--json]

Lists tokens issued through the relay, newest first: id, subject, role, services, expiry, status
(active, expired, revoked) and live connections. Never the tokens themselves.

Flags:
  --limit <n>                at most this many (1 to 500, default 50)
${REMOTE_FLAGS_HELP}
`;

/** `ztna admin tokens issue --help`. */
export const TOKENS_ISSUE_HELP =
  `Usage: ztna admin tokens issue --admin-token-file <file> --role <role> --service <id>...
                              --subject <name> [--ttl <duration>] [--out <file>] [--url <url>]

Asks the relay to issue a token (it needs [intermediate.admin] token_signing_key) and prints it
on stdout, or writes it to --out (mode 0600) and prints its id. The relay keeps its metadata.

Flags:
  --role <role>              client or connector
  --service <id>             a service the token grants, or "*"; repeat for several
  --subject <name>           who holds the token (1 to 128 characters)
  --ttl <duration>           lifetime: a number and s, m, h or d (default: 30d)
  --out <file>               write the token to <file> (mode 0600) and print only its id
${REMOTE_FLAGS_HELP}
`;

/** `ztna admin tokens revoke --help`. */
export const TOKENS_REVOKE_HELP =
  `Usage: ztna admin tokens revoke --admin-token-file <file> --id <token-id> [--reason <text>]

Revokes a token (issued through the relay or offline) in the relay's store; the relay closes its
live connections with token_revoked at once and refuses it from then on, across restarts.

Flags:
  --id <token-id>            the token id
  --reason <text>            a note for the audit log (at most 200 characters)
${REMOTE_FLAGS_HELP}
`;

/** `ztna admin kick --help`. */
export const KICK_HELP =
  `Usage: ztna admin kick --admin-token-file <file> --conn <connId> [--url <url>]

Closes one connection with "kicked". The peer may reconnect at once: revoke its token to keep
it out.

Flags:
  --conn <connId>            the connection id from "ztna admin connections"
${REMOTE_FLAGS_HELP}
`;

/** `ztna admin audit --help`. */
export const AUDIT_HELP =
  `Usage: ztna admin audit --admin-token-file <file> [--limit <n>] [--url <url>] [--json]

Prints the admin audit log, newest first: who issued, revoked or kicked what, and refused sign-ins.

Flags:
  --limit <n>                at most this many entries (1 to 500, default 50)
${REMOTE_FLAGS_HELP}
`;

/** `ztna admin admin-token --help`. */
export const ADMIN_TOKEN_HELP = `Usage:
  ztna admin admin-token create --help
  ztna admin admin-token hash --help

Commands:
  create   make a new admin token and print its hash for the relay's token_hashes_file
  hash     print the hash of an existing admin token
`;

/** `ztna admin admin-token create --help`. */
export const ADMIN_TOKEN_CREATE_HELP = `Usage: ztna admin admin-token create [--out <file>]

Makes a random admin token. Prints its hash ("sha256:...") on stdout for the relay's
[intermediate.admin] token_hashes_file (re-read within 2 s of a change) or token_hashes (read at
start: restart the relay); the relay never needs the token itself. Without --out the token is
printed on stdout too (first line); with --out it is written to <file> (mode 0600) for
--admin-token-file, and stdout is the hash alone:
  ztna admin admin-token create --out /etc/ztna/ops.token >> /etc/ztna/admin-token-hashes.txt

Flags:
  --out <file>   write the token to <file> instead of printing it
  -h, --help     this help
`;

/** `ztna admin admin-token hash --help`. */
export const ADMIN_TOKEN_HASH_HELP = `Usage: ztna admin admin-token hash --token-file <file>

Prints the hash ("sha256:...") of the admin token in <file>, for the relay's configuration.

Flags:
  --token-file <file>   file holding the admin token
  -h, --help            this help
`;

/** `ztna admin keygen --help`. */
export const KEYGEN_HELP = `Usage: ztna admin keygen --out <dir> [--name <name>] [--force]

Makes an Ed25519 key pair for signing tokens and prints its key id (kid):
  <dir>/<name>.key   private key (PKCS#8 PEM, mode 0600): only for "ztna admin token issue"
  <dir>/<name>.pub   public key (SPKI PEM): list it in the relay's token_public_keys

Flags:
  --out <dir>      folder for the two files; created when missing
  --name <name>    file name without extension (default: token-signing)
  --force          replace existing files; tokens signed by the old key stop verifying
                   once relays drop its .pub
  -h, --help       this help

To rotate keys, make a second pair with another --name, give relays both .pub files,
issue new tokens, then remove the old .pub from the relays.
`;

/** `ztna admin token --help`. */
export const TOKEN_HELP = `Usage:
  ztna admin token issue --help
  ztna admin token revoke --help

Commands:
  issue    sign a token for a client or connector
  revoke   add a token id to the relay's revocation list
`;

/** `ztna admin token issue --help`. */
export const TOKEN_ISSUE_HELP =
  `Usage: ztna admin token issue --signing-key <file> --role <role> --service <id>...
                             --subject <name> [--ttl <duration>] [--out <file>]

Signs a token and prints it on stdout; a line about it (token id, never the token) goes to stderr.

Flags:
  --signing-key <file>   private key made by "ztna admin keygen"
  --role <role>          client (opens flows) or connector (serves services)
  --service <id>         a service the token grants, or "*" for all; repeat for several
  --subject <name>       who holds the token, as shown in logs (1 to 128 characters)
  --ttl <duration>       lifetime: a number and s, m, h or d, at most 3650d (default: 30d)
  --out <file>           write the token to <file> (mode 0600) and print only its id
  -h, --help             this help

Give the token to the peer as token_file in its config, or in ZTNA_TOKEN.
Keep the token id: "ztna admin token revoke --id <id>" needs it.
`;

/** `ztna admin token revoke --help`. */
export const TOKEN_REVOKE_HELP =
  `Usage: ztna admin token revoke --id <token-id> --config <relay.toml> [--reason <text>]
       ztna admin token revoke --id <token-id> --revocation-file <file> [--reason <text>]

Appends the token id to the relay's revocation list (the file is created when missing) and
prints the file's absolute path. The relay re-reads it within revocation_poll_ms (2 s) and
refuses the token from then on, live sessions included. Revoking a token twice changes nothing.
With --config the file is the relay's own revocation_file, resolved as the relay resolves it
(against the config file's folder), so the list cannot end up where the relay does not look.
When the relay's store is PostgreSQL (a fleet), --config writes the revocation into that database
instead (password from the relay's password_file or ZTNA_DB_PASSWORD): every relay on it closes
the token's connections within seconds, and the audit log records it.

Flags:
  --id <token-id>           the id printed by "ztna admin token issue" (also shown by
                            "ztna admin connections" and the dashboard)
  --config <relay.toml>     the relay's config; its intermediate.revocation_file is used
  --revocation-file <file>  the list itself, for a relay whose config is elsewhere
  --reason <text>           a note kept as a comment in the file
  -h, --help                this help
`;

/** `ztna admin dev-certs --help`. */
export const DEV_CERTS_HELP =
  `Usage: ztna admin dev-certs --out <dir> [--name <name>]... [--valid-days <days>]

Makes a private CA and a relay certificate signed by it:
  <dir>/ca.crt, <dir>/ca.key         the CA; kept when already there and still valid
  <dir>/relay.crt, <dir>/relay.key   the relay certificate, issued anew each run

The relay certificate is valid for localhost, 127.0.0.1 and ::1, plus each --name (the name
peers dial). Give clients and connectors ca = "<dir>/ca.crt". For a real deployment, move
ca.key off the relay host afterwards (whoever holds it can mint certificates your peers trust),
or use a public CA (Let's Encrypt through [intermediate.acme]) or your own: certs/README.md.

Flags:
  --out <dir>          folder for the four files (deno task certs uses certs/dev)
  --name <name>        an extra DNS name or IP address for the relay; repeat for several
  --valid-days <days>  validity of the relay certificate, 1 to 825 (default: 365)
  -h, --help           this help
`;
