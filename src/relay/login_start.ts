/**
 * Starts single sign-on (`[intermediate.oidc]`): the key that signs tokens after a login, checked
 * to be one the relay itself accepts, and the provider's login exchange.
 * @module
 */
import { importPrivateKey, type TokenVerifier } from "../auth/mod.ts";
import { readCaBundle } from "../config/files.ts";
import type { IntermediateConfig } from "../config/schema.ts";
import { LoginExchange } from "./login_exchange.ts";

/**
 * Single sign-on: the key that signs tokens after a login must be one the relay itself accepts
 * (else every login would be welcomed with a token the next connection refuses).
 * @throws {Error} when the key is not among token_public_keys, or the provider cannot be read
 */
export async function startLogin(
  config: IntermediateConfig,
  verifier: TokenVerifier,
): Promise<LoginExchange> {
  const oidc = config.oidc!;
  // The config loader already required one of the two (src/config/load.ts).
  const keyPath = oidc.signing_key ?? config.admin.token_signing_key!;
  const signer = await importPrivateKey(await Deno.readTextFile(keyPath), keyPath);
  if (!verifier.keyIds.includes(signer.kid)) {
    throw new Error(
      `Cannot sign tokens after a login with ${keyPath}: its public key is not in ` +
        "intermediate.token_public_keys, so the relay would refuse the tokens it issues",
    );
  }
  const login = new LoginExchange(oidc, signer, {
    ...(oidc.ca ? { caCerts: [await readCaBundle(oidc.ca)] } : {}),
  });
  try {
    await login.start();
  } catch (error) {
    login.close();
    throw error;
  }
  return login;
}
