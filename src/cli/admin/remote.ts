/**
 * Runs the `ztna admin` commands that call a relay's admin endpoint (fetch with the admin token as
 * a bearer header; answers parsed with the API's zod schemas and printed as tables or JSON), and
 * the local admin-token helpers. Failures — unreachable endpoint, refused token, problem answers —
 * become {@link AdminFailure}s naming the code the relay gave.
 * @module
 */
import type { z } from "zod";
import {
  AuditPage,
  ConnectionList,
  FleetList,
  generateAdminToken,
  hashAdminToken,
  IssuedTokenResponse,
  KickResponse,
  Problem,
  RevokeTokenResponse,
  ServiceList,
  TokenPage,
} from "../../admin/mod.ts";
import { describeFsError } from "../../config/mod.ts";
import { writeFileAtomic } from "../../pki/mod.ts";
import { cleartextRefusal, describeFetchFailure, looksLikeAdminToken } from "./endpoint_errors.ts";
import { AdminFailure, type AdminIo } from "./commands.ts";
import type { RemoteCommand } from "./remote_args.ts";
import { formatSeconds } from "../duration.ts";

/** What the remote commands need; tests replace the clock. */
export interface RemoteDeps {
  io: AdminIo;
  now: () => number;
}

type Of<K extends RemoteCommand["kind"]> = Extract<RemoteCommand, { kind: K }>;
type Remote = Exclude<RemoteCommand, { kind: "admin-token-create" | "admin-token-hash" }>;

/** Longest a call to the admin endpoint may take. */
const REQUEST_TIMEOUT_MS = 15_000;

/** Runs one parsed remote or admin-token command; resolves with the exit status. */
export function runRemoteCommand(command: RemoteCommand, deps: RemoteDeps): Promise<number> {
  switch (command.kind) {
    case "admin-token-create":
      return adminTokenCreate(command, deps);
    case "admin-token-hash":
      return adminTokenHash(command, deps);
    case "connections":
      return connections(command, deps);
    case "services":
      return services(command, deps);
    case "fleet":
      return fleet(command, deps);
    case "tokens-list":
      return tokensList(command, deps);
    case "tokens-issue":
      return tokensIssue(command, deps);
    case "tokens-revoke":
      return tokensRevoke(command, deps);
    case "kick":
      return kick(command, deps);
    case "audit":
      return auditLog(command, deps);
  }
}

async function readText(what: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const { reason } = describeFsError(error, "read");
    throw new AdminFailure(`Cannot read ${what} "${path}": ${reason}`, { cause: error });
  }
}

async function adminTokenCreate(command: Of<"admin-token-create">, { io }: RemoteDeps) {
  const token = generateAdminToken();
  const hash = await hashAdminToken(token);
  const { out } = command;
  if (out === undefined) {
    io.out(token);
  } else {
    try {
      await writeFileAtomic(out, `${token}\n`, { mode: 0o600, ifExists: "fail" });
    } catch (error) {
      const { reason } = describeFsError(error, "write");
      throw new AdminFailure(`Cannot write "${out}": ${reason}`, { cause: error });
    }
  }
  io.out(hash);
  io.err(
    `append ${hash} to the relay's [intermediate.admin] token_hashes_file (re-read within 2 s), ` +
      "or put it in token_hashes and restart the relay;" +
      (out === undefined ? " keep the token secret" : ` the token is in ${out}`),
  );
  return 0;
}

async function adminTokenHash(command: Of<"admin-token-hash">, { io }: RemoteDeps) {
  io.out(await hashAdminToken(await readAdminToken(command.tokenFile)));
  return 0;
}

/**
 * Reads the admin token file and checks its shape; the contents never appear in a message (a
 * wrong file may hold another secret).
 */
async function readAdminToken(path: string): Promise<string> {
  const token = (await readText("admin token file", path)).trim();
  if (token === "") throw new AdminFailure(`Cannot use admin token file "${path}": it is empty`);
  if (!looksLikeAdminToken(token)) {
    throw new AdminFailure(
      `Cannot use admin token file "${path}": it does not hold an admin token ` +
        "(ztna_admin_… on one line)",
      { hint: 'make one with "ztna admin admin-token create --out <file>"' },
    );
  }
  return token;
}

/** Calls the admin endpoint; resolves with the parsed answer. */
async function call<T extends z.ZodType>(
  command: Remote,
  path: string,
  schema: T,
  init: { method?: string; body?: unknown } = {},
): Promise<z.output<T>> {
  const base = new URL(command.url);
  const refusal = cleartextRefusal(base);
  if (refusal !== undefined) throw new AdminFailure(refusal);
  const token = await readAdminToken(command.adminTokenFile);
  using client = command.ca === undefined
    ? undefined
    : Deno.createHttpClient({ caCerts: [await readText("CA file", command.ca)] });
  const url = new URL(path, base);
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method ?? "GET",
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      ...(client === undefined ? {} : { client }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const { reason, hint } = describeFetchFailure(error, base, command.ca !== undefined);
    throw new AdminFailure(`Cannot reach the admin endpoint at ${base.origin}: ${reason}`, {
      cause: error,
      hint,
    });
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AdminFailure(
      `The server at ${base.origin} answered HTTP ${res.status} without JSON: is it a ztna ` +
        "relay's admin endpoint?",
    );
  }
  if (!res.ok) {
    const problem = Problem.safeParse(body);
    if (!problem.success) throw new AdminFailure(`The admin endpoint answered HTTP ${res.status}`);
    const p = problem.data;
    throw new AdminFailure(`The relay refused: ${p.code}: ${p.detail ?? p.title}`, {
      ...(p.code === "unauthenticated"
        ? {
          hint:
            `the relay does not know the token in ${command.adminTokenFile} (hash ${await hashAdminToken(
              token,
            )}): it reads token_hashes_file within 2 s and token_hashes at start only (restart ` +
            "the relay after editing token_hashes)",
        }
        : {}),
    });
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new AdminFailure("The admin endpoint's answer is not what this ztna version expects");
  }
  return parsed.data;
}

/** Prints rows as aligned columns. */
function table(io: AdminIo, headers: readonly string[], rows: readonly string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  io.out(line(headers));
  for (const row of rows) io.out(line(row));
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

async function connections(command: Of<"connections">, { io }: RemoteDeps) {
  const list = await call(command, "/api/v1/connections", ConnectionList);
  if (command.json) return json(io, list);
  table(
    io,
    [
      "CONN",
      "IDENTITY",
      "ROLE",
      "TOKEN_ID",
      "REMOTE",
      "SERVICES",
      "BYTES_IN",
      "BYTES_OUT",
      "SINCE",
    ],
    list.items.map((c) => [
      c.connId,
      c.identity || "-",
      c.role,
      c.tokenId ?? "-",
      c.remote,
      c.services.join(",") || "-",
      String(c.bytesIn),
      String(c.bytesOut),
      iso(c.since),
    ]),
  );
  return 0;
}

async function fleet(command: Of<"fleet">, { io }: RemoteDeps) {
  const list = await call(command, "/api/v1/fleet", FleetList);
  if (command.json) return json(io, list);
  table(
    io,
    ["RELAY", "ADDRESSES", "HEALTH", "PEERS", "FLOWS", "HEARTBEAT"],
    list.items.map((r) => [
      r.self ? `${r.relayId}*` : r.relayId,
      r.addresses.map((a) => a.address).join(",") || "-",
      r.health,
      String(r.peers),
      String(r.flows),
      `${(r.heartbeatAgeMs / 1_000).toFixed(1)}s ago`,
    ]),
  );
  return 0;
}

async function services(command: Of<"services">, { io }: RemoteDeps) {
  const list = await call(command, "/api/v1/services", ServiceList);
  if (command.json) return json(io, list);
  table(
    io,
    ["SERVICE", "HEALTH", "CONNECTORS"],
    list.items.map((s) => [
      s.service,
      s.health,
      s.members.map((m) => `${m.identity}(${m.connId},${m.activeFlows} flows)`).join(" ") || "-",
    ]),
  );
  return 0;
}

async function tokensList(command: Of<"tokens-list">, { io }: RemoteDeps) {
  const page = await call(command, `/api/v1/tokens?limit=${command.limit}`, TokenPage);
  if (command.json) return json(io, page);
  table(
    io,
    ["TOKEN_ID", "SUBJECT", "ROLE", "SERVICES", "EXPIRES", "STATUS", "LIVE"],
    page.items.map((t) => [
      t.tokenId,
      t.subject,
      t.role,
      t.services.join(","),
      iso(t.expiresAt),
      t.status,
      String(t.liveConnections),
    ]),
  );
  if (page.next !== undefined) io.err(`more tokens exist; raise --limit to see them`);
  return 0;
}

async function tokensIssue(command: Of<"tokens-issue">, { io }: RemoteDeps) {
  const issued = await call(command, "/api/v1/tokens", IssuedTokenResponse, {
    method: "POST",
    body: {
      subject: command.subject,
      role: command.role,
      services: command.services,
      ttlSeconds: command.ttlSeconds,
    },
  });
  const { out } = command;
  if (out === undefined) {
    io.out(issued.token);
  } else {
    try {
      await writeFileAtomic(out, `${issued.token}\n`, { mode: 0o600 });
    } catch (error) {
      const { reason } = describeFsError(error, "write");
      throw new AdminFailure(
        `Cannot write "${out}": ${reason}; token ${issued.credential.tokenId} was issued, ` +
          "revoke it",
        { cause: error },
      );
    }
    io.out(issued.credential.tokenId);
  }
  const c = issued.credential;
  io.err(
    `issued token ${c.tokenId} for ${c.subject} (role ${c.role}, services ${
      c.services.join(",")
    }, expires ${iso(c.expiresAt)}, ttl ${formatSeconds(command.ttlSeconds)})`,
  );
  return 0;
}

async function tokensRevoke(command: Of<"tokens-revoke">, { io }: RemoteDeps) {
  const result = await call(command, "/api/v1/tokens/revoke", RevokeTokenResponse, {
    method: "POST",
    body: {
      tokenId: command.id,
      ...(command.reason === undefined ? {} : { reason: command.reason }),
    },
  });
  if (command.json) return json(io, result);
  io.out(
    result.alreadyRevoked
      ? `token ${result.tokenId} was already revoked (${iso(result.revokedAt)})`
      : `revoked token ${result.tokenId}; closed ${result.closedConnections} live connections`,
  );
  return 0;
}

async function kick(command: Of<"kick">, { io }: RemoteDeps) {
  const result = await call(command, `/api/v1/connections/${command.conn}/kick`, KickResponse, {
    method: "POST",
  });
  if (command.json) return json(io, result);
  io.out(`kicked connection ${result.connId} of ${result.identity || "(not signed in)"}`);
  return 0;
}

async function auditLog(command: Of<"audit">, { io }: RemoteDeps) {
  const page = await call(command, `/api/v1/audit?limit=${command.limit}`, AuditPage);
  if (command.json) return json(io, page);
  table(
    io,
    ["TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "DETAIL"],
    page.items.map((a) => [
      iso(a.at),
      a.actor,
      a.action,
      a.target ?? "-",
      a.code === undefined ? a.outcome : `${a.outcome}:${a.code}`,
      a.detail ?? "",
    ]),
  );
  return 0;
}

function json(io: AdminIo, value: unknown): number {
  io.out(JSON.stringify(value, null, 2));
  return 0;
}
