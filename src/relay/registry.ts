/**
 * Who serves which service: a pool of connectors per service id, and the choice of one for a new
 * flow (least active flows, then round robin). Pure bookkeeping: no I/O.
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
}

/** Connector pools keyed by service id. Several connectors for one service share its flows (H2). */
export class ConnectorRegistry<M extends PoolMember> {
  readonly #pools = new Map<string, M[]>();
  readonly #cursor = new Map<string, number>();
  /** Services that had a connector at some point since start: tells "unknown" from "offline". */
  readonly #known = new Set<string>();

  /** Adds `member` to the pool of `service`; adding twice is a no-op. */
  add(service: string, member: M): void {
    const pool = this.#pools.get(service) ?? [];
    if (!pool.some((m) => m.connId === member.connId)) pool.push(member);
    this.#pools.set(service, pool);
    this.#known.add(service);
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

  /** Picks the member with the fewest active flows; ties rotate so equal members share the load. */
  pick(service: string): M | undefined {
    const pool = this.#pools.get(service);
    if (!pool || pool.length === 0) return undefined;
    const least = Math.min(...pool.map((m) => m.activeFlows));
    const start = (this.#cursor.get(service) ?? 0) % pool.length;
    for (let k = 0; k < pool.length; k++) {
      const i = (start + k) % pool.length;
      if (pool[i].activeFlows === least) {
        this.#cursor.set(service, i + 1);
        return pool[i];
      }
    }
    return undefined;
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
