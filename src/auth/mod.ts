/**
 * Tokens, identities and grants: who a peer is and what it may do on which service.
 *
 * Flow: `ztna admin keygen` makes an Ed25519 key pair ({@link generateSigningKeyPair}); `ztna admin
 * token issue` signs a token ({@link issueToken}); the relay loads public keys
 * ({@link importPublicKeys}) and the revocation list ({@link parseRevocationList}) into a
 * {@link TokenVerifier}, verifies the token in HELLO into an {@link Identity}, and asks
 * {@link authorizeHello}, {@link authorizeRegistration} and {@link authorizeFlow} before acting.
 * Pure: no network, no disk.
 * @module
 */
export {
  ALL_SERVICES,
  CLOCK_SKEW_MS,
  grantsService,
  Identity,
  identityFromClaims,
  MAX_TOKEN_GROUPS,
  MAX_TOKEN_LENGTH,
  MAX_TOKEN_SERVICES,
  MAX_TOKEN_TTL_SECONDS,
  ServiceGrant,
  TOKEN_ALGORITHM,
  TOKEN_ID_PATTERN,
  TOKEN_ISSUER,
  TOKEN_TYPE,
  TokenClaims,
  TokenGroup,
  TokenId,
  TokenRole,
  TokenSubject,
} from "./token_claims.ts";
export {
  generateSigningKeyPair,
  importPrivateKey,
  importPublicKeys,
  keyId,
  type PemSource,
  type SigningKey,
  SigningKeyError,
  type SigningKeyPair,
  type SigningKeyProblem,
  type VerificationKey,
} from "./signing_keys.ts";
export {
  type IssuedToken,
  issueToken,
  type IssueTokenOptions,
  type TokenRequest,
} from "./token_issuer.ts";
export {
  type TokenFailureCode,
  TokenVerifier,
  type TokenVerifierOptions,
  type VerifyResult,
} from "./token_verifier.ts";
export {
  formatRevocationEntry,
  parseRevocationList,
  type RevocationList,
  type RevocationListError,
} from "./revocation_list.ts";
export {
  authorizeFlow,
  authorizeHello,
  type AuthorizeOptions,
  authorizeRegistration,
  type Decision,
} from "./policy.ts";
export {
  ID_TOKEN_ALGORITHMS,
  type IdTokenCheck,
  type IdTokenFailure,
  type IdTokenIdentity,
  MAX_ID_TOKEN_LENGTH,
  verifyIdToken,
} from "./id_token.ts";
export {
  issueTicket,
  TICKET_TTL_MS,
  TICKET_TYPE,
  type TicketCheck,
  TicketClaims,
  verifyTicket,
} from "./ticket.ts";
