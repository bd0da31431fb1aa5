/**
 * Who serves which service: a pool of connectors per service id, and the choice of one for a new
 * flow (healthy members first, preferred ones among them — the client link's transport — then
 * least active flows, then round robin). Pure bookkeeping: no
 * I/O; waiting for a member to register is the caller's (it subscribes with {@link onAdd}).
 * @module
 */

/** Registry key of a service's pool for one transport: UDP pools are apart from TCP pools. */
export function poolKey(service: string, protocol: "tcp" | "udp" | undefined): string {
  return protocol === "udp" ? `${service}/udp` : service;
}

/** What the registry needs to know about a pool member. */
export interface PoolMember {
  readonly connId: string;
  /** Flows currently relayed to this member, across all its services. */
  activeFlows: number;
  /**
   * The member left a flow unanswered past the accept deadline. A suspect member is chosen only
   * when no healthy one is left; it is healthy again as soon as it answers any flow (even the late
   * answer of the one it was suspected for).
   */
  suspect?: boolean;
}

/** Connector pools keyed by service id. Several connectors for one service share its flows (H2). */
export class ConnectorRegistry<M extends PoolMember> {
  readonly #pools = new Map<string, M[]>();
  readonly #cursor = new Map<string, number>();
  /** Services that had a connector at some point since start: tells "unknown" from "offline". */
  readonly #known = new Set<string>();
  readonly #onAdd = new Set<(service: string) => void>();

  /** Adds `member` to the pool of `service`; adding twice is a no-op. */
  add(service: string, member: M): void {
    const pool = this.#pools.get(service) ?? [];
    if (!pool.some((m) => m.connId === member.connId)) pool.push(member);
    this.#pools.set(service, pool);
    this.#known.add(service);
    for (const listener of [...this.#onAdd]) listener(service);
  }

  /** Calls `listener` after every {@link add}; returns the function that unsubscribes it. */
  onAdd(listener: (service: string) => void): () => void {
    this.#onAdd.add(listener);
    return () => this.#onAdd.delete(listener);
  }

  /** Removes a connection from one pool (a connector unregistered a service); true if it was in. */
  remove(service: string, connId: string): boolean {
    const pool = this.#pools.get(service);
    const i = pool?.findIndex((m) => m.connId === connId) ?? -1;
    if (!pool || i < 0) return false;
    pool.splice(i, 1);
    if (pool.length === 0) this.#pools.delete(service);
    return true;
  }

  /** Removes a connection from every pool; returns the services it served. */
  removeConnection(connId: string): string[] {
    const left: string[] = [];
    for (const [service, pool] of this.#pools) {
      const i = pool.findIndex((m) => m.connId === connId);
      if (i < 0) continue;
      pool.splice(i, 1);
      left.push(service);
      if (pool.length === 0) this.#pools.delete(service);
    }
    return left;
  }

  /**
   * Picks a member for a new flow: among the members not in `exclude` (already tried for this
   * flow), the healthy ones if any (suspects otherwise); among those, the ones `prefer` accepts if
   * any (a connector's member on the transport the flow came on: its TCP lane for a flow from a
   * client's TCP lane); then the one with the fewest active flows; ties rotate so equal members
   * share the load.
   */
  pick(service: string, exclude?: ReadonlySet<string>, prefer?: (m: M) => boolean): M | undefined {
    const pool = this.#pools.get(service);
    if (!pool || pool.length === 0) return undefined;
    const open = exclude ? pool.filter((m) => !exclude.has(m.connId)) : pool;
    const healthy = open.filter((m) => !m.suspect);
    const usable = healthy.length > 0 ? healthy : open;
    const preferred = prefer ? usable.filter(prefer) : [];
    const from = preferred.length > 0 ? preferred : usable;
    if (from.length === 0) return undefined;
    const least = Math.min(...from.map((m) => m.activeFlows));
    const start = (this.#cursor.get(service) ?? 0) % pool.length;
    for (let k = 0; k < pool.length; k++) {
      const i = (start + k) % pool.length;
      if (from.includes(pool[i]) && pool[i].activeFlows === least) {
        this.#cursor.set(service, i + 1);
        return pool[i];
      }
    }
    return undefined;
  }

  /** Whether the pool of `service` holds a member outside `exclude` (another one to try). */
  hasOther(service: string, exclude: ReadonlySet<string>): boolean {
    return (this.#pools.get(service) ?? []).some((m) => !exclude.has(m.connId));
  }

  /** Whether a connector ever registered `service` since start. */
  isKnown(service: string): boolean {
    return this.#known.has(service);
  }

  /** Members of one pool (a copy), for the admin view and tests. */
  members(service: string): M[] {
    return [...(this.#pools.get(service) ?? [])];
  }

  /** Service ids with at least one member. */
  services(): string[] {
    return [...this.#pools.keys()];
  }
}
