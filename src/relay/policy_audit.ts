/**
 * Writes refusals the access policy decided into the audit log, so "why was I denied" has an
 * answer that survives the dashboard's short list: identity, service, code and the rule. A denied
 * peer can retry fast, so writes are budgeted per minute; the rest are only counted, and the next
 * entry says how many were left out.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Store } from "../store/mod.ts";
import type { RefusalEvent } from "./refusal_log.ts";

const log = getLogger(["ztna", "relay", "policy"]);

/** Policy refusals written to the audit log per minute at most. */
export const AUDITED_DENIALS_PER_MINUTE = 120;

/** Budgeted writer of policy refusals; {@link PolicyAudit.record} never throws. */
export class PolicyAudit {
  #window = { start: 0, used: 0, suppressed: 0 };

  constructor(readonly store: Store, readonly clock: () => number = Date.now) {}

  /** Appends one refusal, unless this minute's budget is spent. */
  record(event: RefusalEvent): void {
    const now = this.clock();
    let suppressed = 0;
    if (now - this.#window.start >= 60_000) {
      suppressed = this.#window.suppressed;
      this.#window = { start: now, used: 0, suppressed: 0 };
    }
    if (this.#window.used >= AUDITED_DENIALS_PER_MINUTE) {
      this.#window.suppressed++;
      return;
    }
    this.#window.used++;
    const detail = `${event.service ?? "?"}: rule ${JSON.stringify(event.rule ?? "?")}` +
      (suppressed > 0 ? `; ${suppressed} more not audited in the last minute` : "");
    this.store.appendAudit({
      at: event.at,
      actor: (event.identity ?? "unknown").slice(0, 160),
      action: "access.denied",
      ...(event.connId === undefined ? {} : { target: event.connId }),
      outcome: "refused",
      code: event.code,
      detail: detail.slice(0, 500),
    }).catch((error) => {
      log.error("Cannot write a policy refusal to the audit log: {error}", {
        error: String(error),
      });
    });
  }
}
