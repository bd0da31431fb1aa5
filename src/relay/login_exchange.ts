/**
 * Single sign-on at the relay (`[intermediate.oidc]`): reads the identity provider's discovery
 * document and keys (JWKS) over HTTPS verified against the system roots plus `oidc.ca`, verifies
 * the ID token a client presents (src/auth/id_token.ts) and signs a short-lived ztna client token
 * for that person and the groups the provider names. The provider's keys are fetched again when a
 * token names a key id not seen yet (key rotation), at most once per {@link JWKS_REFETCH_MS}.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { z } from "zod";
import {
  type Identity,
  identityFromClaims,
  type IdTokenIdentity,
  issueToken,
  type SigningKey,
  TokenClaims,
  verifyIdToken,
} from "../auth/mod.ts";
import type { OidcConfig } from "../config/schema.ts";
import type { ErrorCode } from "../protocol/mod.ts";
import { decodeJwt } from "jose";

const log = getLogger(["ztna", "relay", "login"]);

/** Fetch the provider's keys again for an unknown key id at most this often (no fetch storms). */
export const JWKS_REFETCH_MS = 30_000;

/** How long one request to the provider may take. */
const PROVIDER_TIMEOUT_MS = 10_000;

/** The parts of the provider's discovery document the relay uses. */
const Discovery = z.object({ issuer: z.string(), jwks_uri: z.string().url() });

/** A login the relay accepted: the token it signed, and the identity that token carries. */
export interface LoginGrant {
  token: string;
  identity: Identity;
}

/** Verifies ID tokens and issues ztna tokens for them. */
export class LoginExchange {
  readonly #config: OidcConfig;
  readonly #signer: SigningKey;
  readonly #http: Deno.HttpClient;
  readonly #clock: () => number;
  #jwksUri = "";
  #keys: JWTVerifyGetKey | undefined;
  #fetchedAt = 0;

  constructor(
    config: OidcConfig,
    signer: SigningKey,
    options: { caCerts?: string[]; clock?: () => number } = {},
  ) {
    this.#config = config;
    this.#signer = signer;
    this.#http = Deno.createHttpClient(options.caCerts ? { caCerts: options.caCerts } : {});
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Reads the discovery document and the keys once, so a wrong issuer or an unreachable provider
   * stops the relay at start instead of failing every login.
   * @throws {Error} naming the URL and what was wrong
   */
  async start(): Promise<void> {
    const url = `${this.#config.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    const discovery = Discovery.safeParse(await this.#getJson(url));
    if (!discovery.success) throw new Error(`Cannot use ${url}: not an OpenID discovery document`);
    if (discovery.data.issuer !== this.#config.issuer) {
      throw new Error(
        `Cannot use the identity provider ${this.#config.issuer}: its discovery document names ` +
          `issuer ${discovery.data.issuer}; set intermediate.oidc.issuer to exactly that`,
      );
    }
    if (new URL(discovery.data.jwks_uri).host !== new URL(this.#config.issuer).host) {
      // The relay's network sandbox holds the issuer's host only (src/sandbox/role_permissions.ts).
      throw new Error(
        `Cannot use the identity provider ${this.#config.issuer}: its keys are on another host ` +
          `(${discovery.data.jwks_uri}), which the relay's network scope does not include`,
      );
    }
    this.#jwksUri = discovery.data.jwks_uri;
    await this.#refreshKeys();
    log.info("Single sign-on with {issuer} (client {clientId})", {
      issuer: this.#config.issuer,
      clientId: this.#config.client_id,
    });
  }

  /** Releases the HTTP client. */
  close(): void {
    this.#http.close();
  }

  /**
   * Verifies an ID token and signs a ztna client token for its person.
   * @param sameSubject for a refresh: the person of the session being refreshed; another is refused
   */
  async exchange(
    idToken: string,
    sameSubject?: string,
  ): Promise<{ ok: true; grant: LoginGrant } | { ok: false; code: ErrorCode; why: string }> {
    const verified = await this.#verify(idToken);
    if (!verified.ok) return verified;
    const person = verified.identity;
    if (sameSubject !== undefined && person.subject !== sameSubject) {
      return { ok: false, code: "token_invalid", why: "refresh for another person" };
    }
    const issued = await issueToken(this.#signer, {
      subject: person.subject,
      role: "client",
      services: this.#config.services,
      ttlSeconds: Math.floor(this.#config.token_ttl_ms / 1_000),
      groups: person.groups,
    }, { nowMs: this.#clock() });
    const identity = identityFromClaims(TokenClaims.parse(decodeJwt(issued.token)));
    return { ok: true, grant: { token: issued.token, identity } };
  }

  async #verify(
    idToken: string,
  ): Promise<
    { ok: true; identity: IdTokenIdentity } | { ok: false; code: ErrorCode; why: string }
  > {
    const check = {
      issuer: this.#config.issuer,
      audience: this.#config.audience ?? this.#config.client_id,
      groupsClaim: this.#config.groups_claim,
      maxAgeMs: this.#config.max_id_token_age_ms,
      nowMs: this.#clock(),
    };
    const keys: JWTVerifyGetKey = async (header, token) => {
      try {
        return await this.#keys!(header, token);
      } catch (error) {
        // A key id we have not seen: the provider may have rotated its keys.
        if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
        if (this.#clock() - this.#fetchedAt < JWKS_REFETCH_MS) throw error;
        await this.#refreshKeys().catch((e) => {
          log.warn("Cannot read the identity provider's keys: {error}", { error: String(e) });
        });
        return await this.#keys!(header, token);
      }
    };
    return await verifyIdToken(idToken, keys, check);
  }

  async #refreshKeys(): Promise<void> {
    this.#fetchedAt = this.#clock();
    const jwks = await this.#getJson(this.#jwksUri);
    const parsed = z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).safeParse(jwks);
    if (!parsed.success) throw new Error(`Cannot use ${this.#jwksUri}: not a JWK set`);
    this.#keys = createLocalJWKSet(parsed.data as JSONWebKeySet);
  }

  async #getJson(url: string): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(url, {
        client: this.#http,
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
        headers: { accept: "application/json" },
      });
    } catch (error) {
      throw new Error(`Cannot reach the identity provider at ${url}: ${String(error)}`, {
        cause: error,
      });
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`Cannot read ${url}: HTTP ${response.status}`);
    }
    return await response.json();
  }
}
