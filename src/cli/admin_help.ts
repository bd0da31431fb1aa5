/**
 * The texts of `ztna admin --help` and of each admin command's `--help`.
 * Pure: no I/O.
 * @module
 */

/** `ztna admin --help`. */
export const ADMIN_HELP = `ztna admin: keys, tokens and certificates for a ztna deployment.

Usage:
  ztna admin keygen --out <dir> [--name <name>] [--force]
  ztna admin token issue --signing-key <file> --role <role> --service <id>... --subject <name>
                         [--ttl <duration>] [--out <file>]
  ztna admin token revoke --id <token-id> --revocation-file <file> [--reason <text>]
  ztna admin dev-certs --out <dir> [--name <name>]... [--valid-days <days>]
  ztna admin <command> --help

Commands:
  keygen         make the Ed25519 key pair that signs tokens; relays get the .pub file
  token issue    sign a token for a client or connector
  token revoke   add a token id to the relay's revocation list
  dev-certs      make a development CA and relay certificate (never for production)

The ztna binary may write only under ./certs and ./state.
Exit status: 0 done, 1 failed, 2 wrong command line.
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
  `Usage: ztna admin token revoke --id <token-id> --revocation-file <file> [--reason <text>]

Appends the token id to the relay's revocation list (the file is created when missing).
Relays re-read the file on their own and refuse the token from then on, live sessions included.
Revoking a token twice changes nothing.

Flags:
  --id <token-id>           the id printed by "ztna admin token issue"
  --revocation-file <file>  the relay's revocation_file
  --reason <text>           a note kept as a comment in the file
  -h, --help                this help
`;

/** `ztna admin dev-certs --help`. */
export const DEV_CERTS_HELP =
  `Usage: ztna admin dev-certs --out <dir> [--name <name>]... [--valid-days <days>]

Makes a development CA and a relay certificate signed by it, for local runs and tests:
  <dir>/ca.crt, <dir>/ca.key         the dev CA; kept when already there and still valid
  <dir>/relay.crt, <dir>/relay.key   the relay certificate, issued anew each run

The relay certificate is valid for localhost, 127.0.0.1 and ::1, plus each --name.
Give clients and connectors ca = "<dir>/ca.crt". Never use these in production:
see certs/README.md.

Flags:
  --out <dir>          folder for the four files (deno task certs uses certs/dev)
  --name <name>        an extra DNS name or IP address for the relay; repeat for several
  --valid-days <days>  validity of the relay certificate, 1 to 825 (default: 365)
  -h, --help           this help
`;
