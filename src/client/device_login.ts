/**
 * `ztna login`: the OAuth 2.0 device authorization grant (RFC 8628) against the OpenID Connect
 * provider of `[client.login]`, and its refresh grant. The person opens the printed address on any
 * device (the client may be headless) and signs in there; the client polls the token endpoint and
 * gets an ID token (and a refresh token when the provider grants `offline_access`). Every request
 * goes over HTTPS verified against the system roots plus `login.ca`; tokens stay in memory.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { z } from "zod";
import type { ClientLoginConfig } from "../config/schema.ts";

/** The provider's endpoints the device flow uses (from its discovery document). */
const Discovery = z.object({
  issuer: z.string(),
  token_endpoint: z.string().url(),
  device_authorization_endpoint: z.string().url(),
});

const DeviceAuthorization = z.object({
  device_code: z.string().min(1),
  user_code: z.string().min(1),
  verification_uri: z.string().url(),
  verification_uri_complete: z.string().url().optional(),
  expires_in: z.number().positive(),
  interval: z.number().positive().optional(),
});

const TokenAnswer = z.object({
  id_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
});

const TokenError = z.object({ error: z.string(), error_description: z.string().optional() });

/** What a login or refresh yields; both are secrets and are never logged. */
export interface ProviderTokens {
  idToken: string;
  refreshToken?: string;
}

/** A login that cannot finish (denied, expired code, provider unreachable). */
export class LoginError extends Error {
  override readonly name = "LoginError";
}

/** What the person must do, passed to the caller so it can be shown (and read by tests). */
export interface DevicePrompt {
  verificationUri: string;
  verificationUriComplete?: string;
  userCode: string;
}

/** One provider, as `[client.login]` names it. */
export class DeviceLogin {
  readonly #config: ClientLoginConfig;
  readonly #http: Deno.HttpClient;
  readonly #log: Logger;
  #discovery: z.output<typeof Discovery> | undefined;

  constructor(config: ClientLoginConfig, caCerts: string[] | undefined, log: Logger) {
    this.#config = config;
    this.#http = Deno.createHttpClient(caCerts ? { caCerts } : {});
    this.#log = log;
  }

  close(): void {
    this.#http.close();
  }

  /**
   * Runs the device flow to its end: prints where to sign in, then polls until the person has
   * approved (or denied, or the code expired).
   * @throws {LoginError} when the login cannot finish
   */
  async login(signal: AbortSignal, onPrompt?: (prompt: DevicePrompt) => void): Promise<
    ProviderTokens
  > {
    const discovery = await this.#discover();
    const scopes = new Set(["openid", ...this.#config.scopes]);
    const grant = DeviceAuthorization.safeParse(
      await this.#post(discovery.device_authorization_endpoint, {
        client_id: this.#config.client_id,
        scope: [...scopes].join(" "),
      }),
    );
    if (!grant.success) throw new LoginError("The identity provider refused the device login");
    const g = grant.data;
    const prompt: DevicePrompt = {
      verificationUri: g.verification_uri,
      userCode: g.user_code,
      ...(g.verification_uri_complete
        ? { verificationUriComplete: g.verification_uri_complete }
        : {}),
    };
    this.#log.warn(
      "To log in, open {url} and enter the code {code} (or open {complete}); waiting {seconds} s",
      {
        url: g.verification_uri,
        code: g.user_code,
        complete: g.verification_uri_complete ?? g.verification_uri,
        seconds: g.expires_in,
      },
    );
    onPrompt?.(prompt);
    let intervalMs = (g.interval ?? 5) * 1_000;
    const deadline = Date.now() + g.expires_in * 1_000;
    while (Date.now() < deadline) {
      await sleep(intervalMs, signal);
      const answer = await this.#post(discovery.token_endpoint, {
        client_id: this.#config.client_id,
        grant_type: "urn:ietf:params:oauth:grant-type:device_code",
        device_code: g.device_code,
      });
      const tokens = TokenAnswer.safeParse(answer);
      if (tokens.success) return toTokens(tokens.data);
      const error = TokenError.safeParse(answer);
      const code = error.success ? error.data.error : "invalid answer";
      if (code === "authorization_pending") continue;
      // RFC 8628 3.5: slow_down adds 5 s to the interval for the rest of this login.
      if (code === "slow_down") intervalMs += 5_000;
      else throw new LoginError(`Login failed at the identity provider: ${code}`);
    }
    throw new LoginError("Login failed: the code expired before anyone signed in");
  }

  /**
   * Uses the refresh token for a new ID token (groups as the provider says now).
   * @throws {LoginError} when the provider refuses (signed out, account disabled, token expired)
   */
  async refresh(refreshToken: string): Promise<ProviderTokens> {
    const discovery = await this.#discover();
    const answer = await this.#post(discovery.token_endpoint, {
      client_id: this.#config.client_id,
      grant_type: "refresh_token",
      refresh_token: refreshToken,
    });
    const tokens = TokenAnswer.safeParse(answer);
    if (tokens.success) {
      // A provider that does not rotate refresh tokens answers without one: keep the old one.
      return { refreshToken, ...toTokens(tokens.data) };
    }
    const error = TokenError.safeParse(answer);
    throw new LoginError(
      `Refresh refused by the identity provider: ${error.success ? error.data.error : "no token"}`,
    );
  }

  async #discover(): Promise<z.output<typeof Discovery>> {
    if (this.#discovery) return this.#discovery;
    const url = `${this.#config.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    const found = Discovery.safeParse(await this.#request(url));
    if (!found.success || found.data.issuer !== this.#config.issuer) {
      throw new LoginError(
        `Cannot log in: ${url} is not the discovery document of ${this.#config.issuer} (or it ` +
          "offers no device login)",
      );
    }
    return this.#discovery = found.data;
  }

  #post(url: string, form: Record<string, string>): Promise<unknown> {
    return this.#request(url, new URLSearchParams(form));
  }

  async #request(url: string, form?: URLSearchParams): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(url, {
        client: this.#http,
        signal: AbortSignal.timeout(10_000),
        headers: { accept: "application/json" },
        ...(form ? { method: "POST", body: form } : {}),
      });
    } catch (error) {
      throw new LoginError(`Cannot reach the identity provider at ${url}: ${String(error)}`, {
        cause: error,
      });
    }
    try {
      return await response.json();
    } catch {
      throw new LoginError(`The identity provider answered ${url} with HTTP ${response.status}`);
    }
  }
}

function toTokens(answer: z.output<typeof TokenAnswer>): ProviderTokens {
  return {
    idToken: answer.id_token,
    ...(answer.refresh_token ? { refreshToken: answer.refresh_token } : {}),
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new LoginError("Login stopped"));
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(new LoginError("Login stopped"));
    };
    signal.addEventListener("abort", stop, { once: true });
  });
}
