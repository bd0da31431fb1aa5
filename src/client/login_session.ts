/**
 * A logged-in client's credentials (`[client.login]`): the ztna token the relay issued after the
 * login, kept in memory only, and its renewal. Before the token's end (at two thirds of its life)
 * the client asks the provider for a fresh ID token with its refresh token and hands it to the
 * relay on the control stream (`login_refresh`); the relay answers with a new token and the
 * session, flows included, goes on. When the provider refuses the refresh, the person is asked to
 * log in again (a new device login); until then the session ends at the token's expiry.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ControlMessage, ControlMessageInput, Welcome } from "../protocol/mod.ts";
import { type DeviceLogin, LoginError, type ProviderTokens } from "./device_login.ts";

/** A token this close to its end is not used for a new connection: a fresh login is. */
const MIN_TOKEN_LEFT_MS = 5_000;

/** Credentials and their renewal for one client process. */
export class LoginSession {
  readonly #login: DeviceLogin;
  readonly #log: Logger;
  readonly #signal: AbortSignal;
  readonly #send: () => ((msg: ControlMessageInput) => Promise<void>) | undefined;
  #token: string | undefined;
  #expiresAt = 0;
  #provider: ProviderTokens | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: {
    login: DeviceLogin;
    log: Logger;
    signal: AbortSignal;
    /** Sends on the current relay session's control stream; undefined while disconnected. */
    send: () => ((msg: ControlMessageInput) => Promise<void>) | undefined;
  }) {
    this.#login = options.login;
    this.#log = options.log;
    this.#signal = options.signal;
    this.#send = options.send;
    options.signal.addEventListener("abort", () => clearTimeout(this.#timer), { once: true });
  }

  /**
   * What the next HELLO carries: the issued token while it has time left, else a fresh ID token
   * (refreshed at the provider, or from a new device login).
   * @throws {LoginError} when no login could be had
   */
  async credentials(): Promise<string | { idToken: string }> {
    if (this.#token !== undefined && this.#expiresAt - Date.now() > MIN_TOKEN_LEFT_MS) {
      return this.#token;
    }
    this.#provider = await this.#freshProviderTokens();
    return { idToken: this.#provider.idToken };
  }

  /** The newest token the relay issued, for further connections of the same session. */
  get token(): string | undefined {
    return this.#token;
  }

  /** Takes the token a login HELLO was answered with, and plans its refresh. */
  onWelcome(welcome: Welcome): void {
    if (welcome.issuedToken === undefined) return;
    this.#accept(welcome.issuedToken, welcome.tokenExpiresAt);
  }

  /** Handles the relay's answer to a refresh; false for any other message. */
  onControl(msg: ControlMessage): boolean {
    if (msg.type === "login_refreshed") {
      this.#accept(msg.token, msg.tokenExpiresAt);
      this.#log.info("Login refreshed; the token now ends at {end}", {
        end: new Date(msg.tokenExpiresAt).toISOString(),
      });
      return true;
    }
    if (msg.type === "login_refused") {
      this.#log.error("The relay refused the refreshed login ({code}); log in again", {
        code: msg.code,
      });
      // Forget the refresh token: the next attempt is a new device login.
      this.#provider = undefined;
      this.#schedule(Math.max(0, this.#expiresAt - Date.now() - MIN_TOKEN_LEFT_MS));
      return true;
    }
    return false;
  }

  #accept(token: string, expiresAt: number): void {
    this.#token = token;
    this.#expiresAt = expiresAt;
    this.#schedule(Math.max(1_000, ((expiresAt - Date.now()) * 2) / 3));
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    if (this.#signal.aborted) return;
    this.#timer = setTimeout(() => void this.#refresh(), ms);
  }

  async #refresh(): Promise<void> {
    try {
      this.#provider = await this.#freshProviderTokens();
    } catch (error) {
      if (this.#signal.aborted) return;
      this.#log.error("Login refresh failed: {error}; trying again in 10 s", {
        error: error instanceof Error ? error.message : String(error),
      });
      this.#schedule(10_000);
      return;
    }
    const send = this.#send();
    if (!send) {
      // Not connected: the next connection presents the fresh ID token itself.
      this.#token = undefined;
      return;
    }
    await send({ type: "login_refresh", id_token: this.#provider.idToken }).catch(() => {
      this.#token = undefined;
    });
  }

  /** A new ID token: by the refresh token when there is one, else (or when refused) a new login. */
  async #freshProviderTokens(): Promise<ProviderTokens> {
    const refreshToken = this.#provider?.refreshToken;
    if (refreshToken !== undefined) {
      try {
        return await this.#login.refresh(refreshToken);
      } catch (error) {
        if (!(error instanceof LoginError)) throw error;
        this.#log.error("{error}; log in again", { error: error.message });
      }
    }
    return await this.#login.login(this.#signal);
  }
}
