/**
 * Credential lifecycle through the admin API: issue a token (signed with the relay's optional
 * signing key, metadata kept in the store), list tokens (metadata only), revoke one (stored first,
 * then applied to live connections at once), and the admin tokens themselves. Every action is
 * audited, refused ones included.
 * @module
 */
import { issueToken } from "../auth/mod.ts";
import type { CredentialRecord } from "../store/mod.ts";
import { adminTokenId, generateAdminToken, hashAdminToken } from "./admin_auth.ts";
import { audit, type RequestContext } from "./admin_context.ts";
import type {
  CreateAdminTokenRequest,
  IssueTokenRequest,
  PageQuery,
  RevokeTokenRequest,
  TokenInfo,
} from "./api_schemas.ts";
import { AdminProblem } from "./problem.ts";

/** Live connections per token id, counted once per answer. */
function liveByToken(ctx: RequestContext): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of ctx.deps.relay.connections()) {
    if (c.tokenId !== undefined) counts.set(c.tokenId, (counts.get(c.tokenId) ?? 0) + 1);
  }
  return counts;
}

/** A stored credential with its state at `now` and its live connection count. */
function tokenInfo(
  ctx: RequestContext,
  record: CredentialRecord,
  live: ReadonlyMap<string, number> = liveByToken(ctx),
): TokenInfo {
  const status = record.revokedAt !== undefined
    ? "revoked"
    : record.expiresAt <= ctx.deps.now()
    ? "expired"
    : "active";
  return { ...record, status, liveConnections: live.get(record.tokenId) ?? 0 };
}

/** `POST /api/v1/tokens`. @throws {AdminProblem} token_issuing_disabled without a signing key */
export async function issueTokenHandler(ctx: RequestContext, request: IssueTokenRequest) {
  const key = ctx.deps.signingKey;
  if (key === undefined) {
    await audit(ctx, {
      action: "token.issue",
      outcome: "refused",
      code: "token_issuing_disabled",
      detail: `subject ${request.subject}`,
    });
    throw new AdminProblem(
      "token_issuing_disabled",
      "Cannot issue tokens: set [intermediate.admin] token_signing_key on the relay, or issue " +
        'offline with "ztna admin token issue"',
    );
  }
  const issued = await issueToken(key, {
    subject: request.subject,
    role: request.role,
    services: request.services,
    ttlSeconds: request.ttlSeconds,
  }, { nowMs: ctx.deps.now() });
  const record: CredentialRecord = {
    tokenId: issued.tokenId,
    subject: request.subject,
    role: request.role,
    services: request.services,
    issuedAt: ctx.deps.now(),
    expiresAt: issued.expiresAtMs,
    issuedBy: ctx.actor,
  };
  await ctx.deps.store.putCredential(record);
  await audit(ctx, {
    action: "token.issue",
    outcome: "ok",
    target: issued.tokenId,
    detail: `${request.role} ${request.subject} for ${request.services.join(",")}`,
  });
  return { token: issued.token, credential: tokenInfo(ctx, record) };
}

/** `GET /api/v1/tokens`. */
export async function listTokensHandler(ctx: RequestContext, query: PageQuery) {
  const live = liveByToken(ctx);
  const page = await ctx.deps.store.listCredentials({
    limit: query.limit,
    ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
  });
  return {
    items: page.items.map((r) => tokenInfo(ctx, r, live)),
    ...(page.next === undefined ? {} : { next: page.next }),
  };
}

/** `POST /api/v1/tokens/revoke`: durable first, then live connections are closed. */
export async function revokeTokenHandler(ctx: RequestContext, request: RevokeTokenRequest) {
  const result = await ctx.deps.store.revoke({
    tokenId: request.tokenId,
    revokedAt: ctx.deps.now(),
    revokedBy: ctx.actor,
    ...(request.reason === undefined ? {} : { reason: request.reason }),
  });
  const closed = ctx.deps.relay.revoke(request.tokenId);
  await audit(ctx, {
    action: "token.revoke",
    outcome: "ok",
    target: request.tokenId,
    detail: [
      result.alreadyRevoked ? "already revoked" : undefined,
      result.credential
        ? `${result.credential.role} ${result.credential.subject}`
        : "not issued here",
      `${closed} connections closed`,
      request.reason,
    ].filter((x) => x !== undefined).join("; ").slice(0, 500),
  });
  return {
    tokenId: request.tokenId,
    alreadyRevoked: result.alreadyRevoked,
    revokedAt: result.revocation.revokedAt,
    closedConnections: closed,
  };
}

/** `GET /api/v1/admin-tokens`: what is accepted, from which source; never a token or full hash. */
export async function listAdminTokensHandler(ctx: RequestContext) {
  const stored = new Map(
    (await ctx.deps.store.listAdminTokens()).map((r) => [r.id, r]),
  );
  return {
    items: ctx.deps.auth.tokens.map((t) => {
      const id = adminTokenId(t.hash);
      const record = t.source === "store" ? stored.get(id) : undefined;
      return {
        id,
        label: t.label,
        source: t.source,
        ...(record ? { createdAt: record.createdAt, createdBy: record.createdBy } : {}),
      };
    }),
  };
}

/** Re-reads the store's admin tokens into the authenticator. */
export async function refreshStoredAdminTokens(ctx: Pick<RequestContext, "deps">): Promise<void> {
  const records = await ctx.deps.store.listAdminTokens();
  ctx.deps.auth.setSource("store", records.map((r) => ({ hash: r.hash, label: r.label })));
}

/** `POST /api/v1/admin-tokens`: a new admin token, shown once; only its hash is stored. */
export async function createAdminTokenHandler(
  ctx: RequestContext,
  request: CreateAdminTokenRequest,
) {
  const token = generateAdminToken();
  const hash = await hashAdminToken(token);
  const id = adminTokenId(hash);
  await ctx.deps.store.putAdminToken({
    id,
    hash,
    label: request.label,
    createdAt: ctx.deps.now(),
    createdBy: ctx.actor,
  });
  await refreshStoredAdminTokens(ctx);
  await audit(ctx, {
    action: "admin_token.create",
    outcome: "ok",
    target: id,
    detail: request.label,
  });
  return { token, id, hash, label: request.label };
}

/**
 * `DELETE /api/v1/admin-tokens/{id}`.
 * @throws {AdminProblem} conflict for a token from the config, not_found for an unknown id
 */
export async function deleteAdminTokenHandler(ctx: RequestContext, id: string) {
  const known = ctx.deps.auth.tokens.find((t) => adminTokenId(t.hash) === id);
  if (known !== undefined && known.source !== "store") {
    await audit(ctx, {
      action: "admin_token.delete",
      outcome: "refused",
      target: id,
      code: "conflict",
    });
    throw new AdminProblem(
      "conflict",
      `Admin token ${id} comes from the relay's ${
        known.source === "config" ? "config file" : "token_hashes_file"
      }; remove it there and send SIGHUP`,
    );
  }
  const deleted = await ctx.deps.store.deleteAdminToken(id);
  if (!deleted) {
    await audit(ctx, {
      action: "admin_token.delete",
      outcome: "refused",
      target: id,
      code: "not_found",
    });
    throw new AdminProblem("not_found", `No admin token with id ${id}`);
  }
  await refreshStoredAdminTokens(ctx);
  await audit(ctx, { action: "admin_token.delete", outcome: "ok", target: id });
  return { id, deleted: true };
}
