/**
 * A real OpenID Connect provider for tests (npm `oidc-provider`, a certified implementation) on
 * loopback HTTPS, with the device authorization grant, refresh tokens and accounts whose `groups`
 * the test can change; {@link OidcIdp.approveDevice} plays the person at the browser with plain
 * HTTP form posts (the provider's own development login and consent pages).
 * @module
 */
import Provider from "oidc-provider";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK } from "jose";

/** One person the provider knows. */
export interface IdpAccount {
  sub: string;
  groups: string[];
}

/** Options of {@link OidcIdp.start}. */
export interface OidcIdpOptions {
  /** PEM certificate and key the provider serves (the test CA's relay certificate names 127.0.0.1). */
  cert: string;
  key: string;
  /** The CA that signed `cert`, for the test's own requests. */
  ca: string;
  /** The OAuth client the relay and the client share. @default {"ztna"} */
  clientId?: string;
  /** Another client the provider knows (ID tokens for another audience). @default {"other-app"} */
  otherClientId?: string;
  accounts: IdpAccount[];
  /** ID token lifetime, seconds. @default {60} */
  idTokenTtl?: number;
}

/** A running provider; dispose it to stop. */
export class OidcIdp implements AsyncDisposable {
  readonly #http: Deno.HttpClient;
  private constructor(
    readonly issuer: string,
    readonly clientId: string,
    readonly accounts: Map<string, IdpAccount>,
    readonly provider: InstanceType<typeof Provider>,
    readonly server: Server,
    readonly caCerts: string[],
    /** The provider's own ID-token signing key (kid "idp-1"). */
    readonly signingKey: CryptoKey,
  ) {
    this.#http = Deno.createHttpClient({ caCerts });
  }

  static async start(options: OidcIdpOptions): Promise<OidcIdp> {
    const clientId = options.clientId ?? "ztna";
    const accounts = new Map(options.accounts.map((a) => [a.sub, a]));
    const server = createServer({ cert: options.cert, key: options.key });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const issuer = `https://127.0.0.1:${port}`;
    // Our own signing key (not the provider's development key), so tests can also sign tokens
    // with the provider's real key: expired ones, for example.
    const { privateKey } = await generateKeyPair("RS256", { extractable: true });
    const signingJwk: JWK = { ...(await exportJWK(privateKey)), kid: "idp-1", alg: "RS256" };
    const client = (client_id: string) => ({
      client_id,
      token_endpoint_auth_method: "none",
      application_type: "native",
      grant_types: ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
      response_types: [],
      redirect_uris: [],
    });
    const provider = new Provider(issuer, {
      clients: [client(clientId), client(options.otherClientId ?? "other-app")],
      jwks: { keys: [signingJwk] },
      features: { deviceFlow: { enabled: true }, devInteractions: { enabled: true } },
      scopes: ["openid", "offline_access", "groups"],
      claims: { openid: ["sub"], groups: ["groups"] },
      // The person's groups in the ID token itself, which is what the relay reads.
      conformIdTokenClaims: false,
      issueRefreshToken: () => Promise.resolve(true),
      ttl: { IdToken: options.idTokenTtl ?? 60, AccessToken: 60, DeviceCode: 300 },
      findAccount: (_ctx: unknown, id: string) => {
        const account = accounts.get(id);
        if (!account) return undefined;
        return {
          accountId: id,
          claims: () => ({ sub: id, groups: [...(accounts.get(id)?.groups ?? [])] }),
        };
      },
    });
    provider.proxy = false;
    server.on("request", provider.callback());
    return new OidcIdp(issuer, clientId, accounts, provider, server, [options.ca], privateKey);
  }

  /**
   * Plays the person at the browser for a device login: opens the verification page with the user
   * code, signs in as `sub` on the provider's login form and grants consent. Every page is a form
   * (no JavaScript needed); cookies are kept like a browser keeps them.
   * @throws {Error} when the provider shows no form where one is expected
   */
  async approveDevice(verificationUriComplete: string, sub: string): Promise<void> {
    const cookies = new Map<string, string>();
    let url = verificationUriComplete;
    let method = "GET";
    let body: URLSearchParams | undefined;
    for (let step = 0; step < 20; step++) {
      const response = await fetch(url, {
        method,
        redirect: "manual",
        client: this.#http,
        headers: {
          cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; "),
          ...(body ? { "content-type": "application/x-www-form-urlencoded" } : {}),
        },
        ...(body ? { body } : {}),
      });
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(";");
        const at = pair.indexOf("=");
        cookies.set(pair.slice(0, at), pair.slice(at + 1));
      }
      const location = response.headers.get("location");
      if (location) {
        await response.body?.cancel();
        url = new URL(location, url).href;
        method = "GET";
        body = undefined;
        continue;
      }
      const html = await response.text();
      if (/Sign-in Success|successfully|You may close/i.test(html)) return;
      const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html) ??
        /<form[^>]*>([\s\S]*?)<\/form>/i.exec(html);
      if (!form) throw new Error(`No form on ${url} (${response.status}): ${html.slice(0, 300)}`);
      const action = form.length === 3 ? form[1] : url;
      const fields = new URLSearchParams();
      for (const input of form[form.length - 1].matchAll(/<input([^>]*)>/gi)) {
        const name = /name="([^"]*)"/.exec(input[1])?.[1];
        const value = /value="([^"]*)"/.exec(input[1])?.[1] ?? "";
        if (name) fields.set(name, value);
      }
      if (fields.has("login")) fields.set("login", sub);
      if (fields.has("password")) fields.set("password", "any");
      // The device confirmation page submits its button's value.
      if (/name="confirm"/.test(form[0]) && !fields.has("confirm")) fields.set("confirm", "yes");
      url = new URL(action.replace(/&amp;/g, "&"), url).href;
      method = "POST";
      body = fields;
    }
    throw new Error("Device approval did not finish in 20 steps");
  }

  /**
   * A whole device login as the client does it, for `clientId`: returns the provider's answer.
   * @throws {Error} when the provider does not issue an ID token
   */
  async deviceLogin(sub: string, clientId = this.clientId): Promise<{ idToken: string }> {
    const post = async (url: string, form: Record<string, string>) =>
      await (await fetch(url, {
        method: "POST",
        client: this.#http,
        body: new URLSearchParams(form),
      })).json();
    const grant = await post(`${this.issuer}/device/auth`, {
      client_id: clientId,
      scope: "openid groups",
    });
    await this.approveDevice(grant.verification_uri_complete, sub);
    const answer = await post(`${this.issuer}/token`, {
      client_id: clientId,
      grant_type: "urn:ietf:params:oauth:grant-type:device_code",
      device_code: grant.device_code,
    });
    if (typeof answer.id_token !== "string") {
      throw new Error(`No ID token: ${JSON.stringify(answer)}`);
    }
    return { idToken: answer.id_token };
  }

  /** Changes a person's groups at the provider: seen by the next token it issues. */
  setGroups(sub: string, groups: string[]): void {
    const account = this.accounts.get(sub);
    if (!account) throw new RangeError(`Cannot set groups as '${sub}' is not an account`);
    account.groups = groups;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#http.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
