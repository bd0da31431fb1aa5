/**
 * The relay's state store: credential metadata, revocations, admin token hashes and the audit log,
 * behind one small interface so a shared database can later replace the embedded Deno KV store
 * for a fleet of relays. Records are zod schemas, the single source of their types; every
 * implementation parses what it reads back with them, so a damaged or foreign record is an error,
 * never a silently wrong value. Pure: no I/O here.
 * @module
 */
import { z } from "zod";
import { ServiceGrant, TokenId, TokenRole, TokenSubject } from "../auth/mod.ts";

/** Milliseconds since the epoch. */
const EpochMs = z.number().int().min(0);

/** Who did something: `admin:<label>` for an admin token, `system` for the relay itself. */
export const Actor = z.string().min(1).max(160);

/** Free text an operator gave (a reason, a label); control characters are refused. */
const Note = z.string().max(200).regex(/^[^\p{Cc}]*$/u, "expected no control characters");

/** What the store keeps about a token issued through the admin API; never the token itself. */
export const CredentialRecord = z.strictObject({
  tokenId: TokenId,
  subject: TokenSubject,
  role: TokenRole,
  services: z.array(ServiceGrant).min(1).max(256),
  issuedAt: EpochMs,
  expiresAt: EpochMs,
  issuedBy: Actor,
  revokedAt: EpochMs.optional(),
  revokedReason: Note.optional(),
});
export type CredentialRecord = z.output<typeof CredentialRecord>;

/** One revoked token id; tokens issued elsewhere (`ztna admin token issue`) can be revoked too. */
export const RevocationRecord = z.strictObject({
  tokenId: TokenId,
  revokedAt: EpochMs,
  revokedBy: Actor,
  reason: Note.optional(),
});
export type RevocationRecord = z.output<typeof RevocationRecord>;

/** An admin bearer token, stored only as its SHA-256 hash. */
export const AdminTokenHash = z.string().regex(
  /^sha256:[0-9a-f]{64}$/,
  'expected "sha256:" and 64 lowercase hex digits',
);

/** An admin token created through the API or CLI (config-file hashes are not stored). */
export const AdminTokenRecord = z.strictObject({
  /** Short public handle: the first 12 hex digits of the hash. */
  id: z.string().regex(/^[0-9a-f]{12}$/),
  hash: AdminTokenHash,
  label: z.string().min(1).max(64).regex(/^[A-Za-z0-9._@-]+$/),
  createdAt: EpochMs,
  createdBy: Actor,
});
export type AdminTokenRecord = z.output<typeof AdminTokenRecord>;

/** What an audit entry records. */
export const AuditAction = z.enum([
  "token.issue",
  "token.revoke",
  "connection.kick",
  "admin_token.create",
  "admin_token.delete",
  "auth.failed",
  /** A peer refused by the access policy (actor: the peer's identity; detail: the rule). */
  "access.denied",
  /** A person signed in through the identity provider (`ztna login`) or refreshed. */
  "login",
]);
export type AuditAction = z.output<typeof AuditAction>;

/** One line of the audit log; `id` sorts by time. */
export const AuditEntry = z.strictObject({
  id: z.string().regex(/^[0-9a-z]{9}-[0-9a-f]{8}$/),
  at: EpochMs,
  actor: Actor,
  action: AuditAction,
  /** What was acted on: a token id, a connection id, an admin token id. */
  target: z.string().max(160).optional(),
  outcome: z.enum(["ok", "refused"]),
  /** The problem code of a refused action. */
  code: z.string().max(64).optional(),
  detail: z.string().max(500).optional(),
  /** The admin client's address. */
  remote: z.string().max(64).optional(),
});
export type AuditEntry = z.output<typeof AuditEntry>;

/** An audit entry before the store gives it an id. */
export type NewAuditEntry = Omit<AuditEntry, "id">;

/** A relay's id in the fleet table: random per process start, so a restarted relay is a new row. */
export const RelayId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/);

/** An address peers can dial a relay at, and the TLS name to check it against when it differs. */
export const AdvertisedAddress = z.strictObject({
  /** `host:port` (IPv6 in brackets). */
  address: z.string().min(3).max(260).regex(/^[^\s/@]+:\d{1,5}$/, "expected host:port"),
  server_name: z.string().min(1).max(253).regex(/^[A-Za-z0-9.-]+$/).optional(),
});
export type AdvertisedAddress = z.output<typeof AdvertisedAddress>;

/** Most addresses one relay advertises: its public names and addresses, not an inventory. */
export const MAX_ADVERTISED = 8;

/** One relay of the fleet, as it last reported itself (its heartbeat). */
export const RelayRecord = z.strictObject({
  relayId: RelayId,
  addresses: z.array(AdvertisedAddress).max(MAX_ADVERTISED),
  /** `draining` from SIGTERM on: peers move away; the row goes when the relay stops. */
  state: z.enum(["up", "draining"]),
  startedAt: EpochMs,
  /** Stamped by the store's clock (the database's, for a fleet): one clock for every relay. */
  heartbeatAt: EpochMs,
  /** Authenticated peers at the last heartbeat. */
  peers: z.number().int().min(0),
  /** Flows running through the relay at the last heartbeat. */
  flows: z.number().int().min(0),
});
export type RelayRecord = z.output<typeof RelayRecord>;

/** A relay's heartbeat before the store stamps it. */
export type RelayHeartbeat = Omit<RelayRecord, "heartbeatAt">;

/** Every relay row and the store's clock when they were read (ages are `now - heartbeatAt`). */
export interface FleetSnapshot {
  now: number;
  relays: RelayRecord[];
}

/** A page request; `cursor` is the opaque `next` of the previous page. */
export interface PageRequest {
  /** 1 to {@link MAX_PAGE_SIZE}. */
  limit: number;
  cursor?: string;
}

/** One page of results; `next` is absent on the last page. */
export interface Page<T> {
  items: T[];
  next?: string;
}

/** Largest page any list call returns: keeps one answer well under the admin API's limits. */
export const MAX_PAGE_SIZE = 500;

/** Outcome of {@link Store.revoke}. */
export interface RevokeResult {
  /** True when the id was already revoked; the earlier record is kept. */
  alreadyRevoked: boolean;
  revocation: RevocationRecord;
  /** The credential, when the token was issued through the store. */
  credential?: CredentialRecord;
}

/** Options of {@link Store.watchRevocations}. */
export interface WatchRevocationsOptions {
  /** How often to look for revocations a push may have missed (the fallback). */
  pollMs: number;
  /** Stops watching. */
  signal: AbortSignal;
}

/**
 * The relay's state. Every write resolves only once it is durable (it survives `kill -9` of the
 * process), so an acknowledged revocation is never lost.
 */
export interface Store extends Disposable {
  /** Records a newly issued credential; its id must be new. */
  putCredential(record: CredentialRecord): Promise<void>;
  getCredential(tokenId: string): Promise<CredentialRecord | undefined>;
  /** Credentials, newest first. */
  listCredentials(page: PageRequest): Promise<Page<CredentialRecord>>;
  /** Revokes a token id (known or not) and marks its credential; idempotent. */
  revoke(revocation: RevocationRecord): Promise<RevokeResult>;
  /** Every revocation, for the verifier's revocation set at start. */
  listRevocations(): Promise<RevocationRecord[]>;
  /**
   * Reports token ids revoked in this store by other processes (a fleet's other relays) until
   * `signal` aborts; may also report ids already known (callers treat ids as a set). Resolves once
   * watching has started. A store no other process writes (Deno KV, memory) reports nothing: the
   * relay hears of its own revocations directly.
   */
  watchRevocations(
    onRevoked: (tokenIds: string[]) => void,
    options: WatchRevocationsOptions,
  ): Promise<void>;
  putAdminToken(record: AdminTokenRecord): Promise<void>;
  listAdminTokens(): Promise<AdminTokenRecord[]>;
  /** Removes an admin token; false when there was none with this id. */
  deleteAdminToken(id: string): Promise<boolean>;
  /** Appends to the audit log and returns the entry with its id. */
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  /** The audit log, newest first. */
  listAudit(page: PageRequest): Promise<Page<AuditEntry>>;
  /** Deletes audit entries older than `beforeMs` (retention); returns how many went. */
  pruneAudit(beforeMs: number): Promise<number>;
  /** Inserts or replaces this relay's row, stamping `heartbeatAt` with the store's own clock. */
  heartbeatRelay(heartbeat: RelayHeartbeat): Promise<void>;
  /** Every relay row, sorted by id, with the store's clock. */
  listRelays(): Promise<FleetSnapshot>;
  /** Removes a relay's row (it stopped); false when there was none. */
  removeRelay(relayId: string): Promise<boolean>;
  /** Deletes rows whose heartbeat is older than `beforeMs` (store clock); returns how many went. */
  pruneRelays(beforeMs: number): Promise<number>;
  /** Closes the store; later calls fail. Idempotent; also `[Symbol.dispose]`. */
  close(): void;
}

/** The certificate a fleet serves, with its private key and what it was ordered for. */
export const AcmeCertificateRecord = z.strictObject({
  cert: z.string().min(1).max(65_536),
  key: z.string().min(1).max(16_384),
  directoryUrl: z.string().min(1).max(2_048),
  domains: z.array(z.string().min(1).max(253)).min(1).max(100),
  storedAt: EpochMs,
});
export type AcmeCertificateRecord = z.output<typeof AcmeCertificateRecord>;

/**
 * ACME state a fleet shares (only a store several relays use offers it: PostgreSQL): one account
 * key per directory, one certificate, the pending HTTP-01 challenges, and a lock so that one relay
 * orders at a time.
 */
export interface SharedAcmeState {
  /** The account key for `directoryUrl`, made with `create` by the first relay that asks. */
  acmeAccountKey(directoryUrl: string, create: () => Promise<string>): Promise<string>;
  getAcmeCertificate(): Promise<AcmeCertificateRecord | undefined>;
  /** Replaces the fleet's certificate. */
  putAcmeCertificate(record: AcmeCertificateRecord): Promise<void>;
  /** Publishes a challenge answer for every relay's HTTP-01 listener. */
  putAcmeChallenge(token: string, keyAuthorization: string, nowMs: number): Promise<void>;
  getAcmeChallenge(token: string): Promise<string | undefined>;
  deleteAcmeChallenge(token: string): Promise<void>;
  /**
   * Runs `order` holding the fleet's ACME order lock, released when it settles; resolves
   * undefined at once when another relay holds it.
   */
  tryAcmeOrderLock<T>(order: () => Promise<T>): Promise<{ value: T } | undefined>;
}

let auditSequence = 0;

/**
 * An audit id that sorts by time: 9 base-36 digits of milliseconds, then 4 hex digits of a
 * per-process sequence (order within one millisecond) and 4 random hex digits (no clash between
 * processes).
 * @param random fills a buffer with random bytes, replaced in tests
 */
export function newAuditId(
  atMs: number,
  random: (b: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer> = (b) =>
    crypto.getRandomValues(b),
): string {
  auditSequence = (auditSequence + 1) & 0xffff;
  const bytes = random(new Uint8Array(2));
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  const sequence = auditSequence.toString(16).padStart(4, "0");
  return `${atMs.toString(36).padStart(9, "0")}-${sequence}${hex}`;
}

/** The smallest audit id of an entry made at `atMs` or later: every older id sorts before it. */
export function auditIdFloor(atMs: number): string {
  return Math.max(0, Math.floor(atMs)).toString(36).padStart(9, "0");
}

/**
 * Checks a page size.
 * @throws {RangeError} when `limit` is not an integer from 1 to {@link MAX_PAGE_SIZE}
 */
export function checkPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new RangeError(
      `Cannot list as 'limit' must be an integer from 1 to ${MAX_PAGE_SIZE}: current value is ${limit}`,
    );
  }
}

/** A record read back from a store that does not match its schema. */
export class StoreCorruptError extends Error {
  override readonly name = "StoreCorruptError";
}

/**
 * Parses a record read back from a store.
 * @throws {StoreCorruptError} naming the key when the value does not match `schema`
 */
export function parseStored<T extends z.ZodType>(
  schema: T,
  key: string,
  value: unknown,
): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new StoreCorruptError(
    `Cannot read stored record ${key}: ${parsed.error.issues[0]?.message ?? "invalid"}`,
    { cause: parsed.error },
  );
}
