/**
 * Revocations made on the fleet's other relays, as the PostgreSQL store reports them: LISTEN for
 * pushes (NOTIFY in the revoking transaction), plus a poll every `pollMs` that heals what a dropped
 * listening connection missed: it counts revocations (rows are never deleted, so a new count means
 * new rows) and reads the ids only when the count moved. The client re-LISTENs by itself after a
 * lost connection; each (re)LISTEN polls at once for what was revoked while it was away.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type postgres from "postgres";
import { z } from "zod";
import { TokenId } from "../auth/mod.ts";
import type { WatchRevocationsOptions } from "./store.ts";

const log = getLogger(["ztna", "store"]);

/** The channel revocations are announced on (NOTIFY in the revoking transaction). */
export const REVOCATION_CHANNEL = "ztna_revocations";

const CountRow = z.object({ n: z.coerce.number().int().min(0) });
const TokenIdRow = z.object({ token_id: z.string() });

/** Watches until `options.signal` aborts; resolves once watching has started. */
export async function watchRevocations(
  sql: postgres.Sql<Record<string, never>>,
  isClosed: () => boolean,
  onRevoked: (tokenIds: string[]) => void,
  options: WatchRevocationsOptions,
): Promise<void> {
  const { signal } = options;
  const known = new Set<string>();
  let polling: Promise<void> | undefined;
  const report = (ids: string[]) => {
    const fresh = ids.filter((id) => !known.has(id));
    for (const id of fresh) known.add(id);
    if (fresh.length > 0 && !signal.aborted) onRevoked(fresh);
  };
  const pollOnce = async () => {
    const [count] = await sql`SELECT count(*) AS n FROM ztna_revocation`;
    if (CountRow.parse(count).n === known.size) return;
    const rows = await sql`SELECT token_id FROM ztna_revocation`;
    report(rows.map((row) => TokenIdRow.parse(row).token_id));
  };
  // One poll at a time: a slow database never piles up queries. An outage is logged once,
  // not at every poll, and its end once.
  let failing = false;
  const poll = () =>
    polling ??= pollOnce().then(() => {
      if (failing) log.info("The store answers revocation polls again");
      failing = false;
    }, (error) => {
      if (isClosed() || signal.aborted || failing) return;
      failing = true;
      log.warn("Cannot poll the store for revocations: {error}; retrying every {pollMs} ms", {
        error: String(error),
        pollMs: options.pollMs,
      });
    }).finally(() => polling = undefined);
  await poll();
  const timer = setInterval(() => void poll(), options.pollMs);
  let unlisten: (() => Promise<void>) | undefined;
  signal.addEventListener("abort", () => {
    clearInterval(timer);
    void unlisten?.().catch(() => {});
  }, { once: true });
  if (signal.aborted) return clearInterval(timer);
  try {
    const listening = await sql.listen(REVOCATION_CHANNEL, (payload) => {
      // Anyone who can NOTIFY can also write the table; the check keeps junk out of the set.
      if (TokenId.safeParse(payload).success) report([payload]);
    }, () => void poll());
    unlisten = listening.unlisten;
    if (signal.aborted) await unlisten().catch(() => {});
  } catch (error) {
    // Polling alone still delivers, only slower; the operator should know why.
    log.warn("Cannot LISTEN for revocations: {error}; polling every {pollMs} ms instead", {
      error: String(error),
      pollMs: options.pollMs,
    });
  }
}
