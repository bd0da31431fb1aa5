/**
 * What admin request handlers work with: the dependencies of the admin endpoint (relay view, store,
 * authenticator, signing key, clock) and, per request, who is asking and from where. Also the one
 * way handlers write the audit log.
 * @module
 */
import type { SigningKey } from "../auth/mod.ts";
import type { AuditAction, Store } from "../store/mod.ts";
import type { AdminAuthenticator } from "./admin_auth.ts";
import type { RelayView } from "./relay_view.ts";

/** The admin endpoint's dependencies; tests replace every one. */
export interface AdminDeps {
  relay: RelayView;
  store: Store;
  auth: AdminAuthenticator;
  /** Signs tokens issued through the API; absent: issuing answers 501 token_issuing_disabled. */
  signingKey?: SigningKey;
  /** Serve /metrics without an admin token. */
  metricsPublic: boolean;
  /** Validity of the certificate the relay serves, for /readyz and the expiry metric. */
  certificate(): { notBeforeMs: number; notAfterMs: number } | undefined;
  /** Clock in milliseconds since the epoch. */
  now(): number;
}

/** One authenticated request. */
export interface RequestContext {
  deps: AdminDeps;
  /** `admin:<label>` of the token used. */
  actor: string;
  /** The client's address, for the audit log. */
  remote: string;
}

/** Appends one audit entry for an action of `ctx.actor`. */
export async function audit(
  ctx: RequestContext,
  entry: {
    action: AuditAction;
    outcome: "ok" | "refused";
    target?: string;
    code?: string;
    detail?: string;
  },
): Promise<void> {
  await ctx.deps.store.appendAudit({
    at: ctx.deps.now(),
    actor: ctx.actor,
    remote: ctx.remote,
    ...entry,
  });
}
