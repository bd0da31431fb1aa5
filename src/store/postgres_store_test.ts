/**
 * The store contract on a real PostgreSQL server (started here, TLS verified), plus what only a
 * database shows: migrations apply once under concurrent starts, a newer schema is refused, TLS
 * cannot be skipped, and a damaged record is refused when read back.
 * @module
 */
import assert from "node:assert/strict";
import { type PostgresServer, startPostgres } from "../../tests/_helpers/postgres.ts";
import {
  openPostgresStore,
  type PostgresStore,
  SCHEMA_VERSION,
  SchemaVersionError,
} from "./postgres_store.ts";
import { storeContract } from "./store_contract.ts";
import { StoreCorruptError } from "./store.ts";

let server: PostgresServer | undefined;
let databases = 0;

/** A store on a fresh database of the one server this file starts (on first use). */
async function freshStore(): Promise<{ store: PostgresStore; url: string }> {
  server ??= await startPostgres();
  const name = `contract_${++databases}`;
  await server.createDatabase(name);
  const url = server.url(name);
  return {
    url,
    store: await openPostgresStore({ url, password: server.password, caCerts: [server.caPem] }),
  };
}

storeContract("PostgresStore", async () => {
  const { store } = await freshStore();
  return { store, cleanup: () => store.ended };
});

Deno.test("PostgresStore: relays starting together apply the migrations once", async () => {
  const { store, url } = await freshStore();
  await store.putCredential({
    tokenId: "tok0000000000000000001",
    subject: "u",
    role: "client",
    services: ["web"],
    issuedAt: 1,
    expiresAt: 2,
    issuedBy: "admin:ops",
  });
  const opens = await Promise.all(
    [1, 2, 3].map(() =>
      openPostgresStore({ url, password: server!.password, caCerts: [server!.caPem] })
    ),
  );
  try {
    const rows = await store.sql`SELECT version FROM ztna_schema`;
    assert.deepEqual(rows.map((r) => r.version), [SCHEMA_VERSION]);
    assert.equal((await opens[0].getCredential("tok0000000000000000001"))?.subject, "u");
  } finally {
    for (const s of [store, ...opens]) s.close();
    await Promise.all([store, ...opens].map((s) => s.ended));
  }
});

Deno.test("PostgresStore: a database with a newer schema is refused", async () => {
  const { store, url } = await freshStore();
  await store.sql`UPDATE ztna_schema SET version = ${SCHEMA_VERSION + 1}`;
  store.close();
  await store.ended;
  await assert.rejects(
    () => openPostgresStore({ url, password: server!.password, caCerts: [server!.caPem] }),
    (e: unknown) =>
      e instanceof SchemaVersionError && /newer than this relay knows/.test(e.message),
  );
});

Deno.test("PostgresStore: refuses a server certificate it cannot verify, and a wrong password", async () => {
  const { store, url } = await freshStore();
  store.close();
  await store.ended;
  // No CA given: the system roots do not know the test CA, so the handshake fails.
  await assert.rejects(
    () => openPostgresStore({ url, password: server!.password }),
    /certificate|UnknownIssuer/i,
  );
  await assert.rejects(
    () => openPostgresStore({ url, password: "wrong", caCerts: [server!.caPem] }),
    /password authentication failed/,
  );
  await assert.rejects(
    () => openPostgresStore({ url: url.replace("ztna@", "ztna:pw@"), password: "x" }),
    /holds a password/,
  );
  await assert.rejects(() => openPostgresStore({ url: `${url}?sslmode=disable` }), /no \?options/);
});

Deno.test("PostgresStore refuses a stored record that does not match its schema", async () => {
  const { store } = await freshStore();
  try {
    await store.sql`INSERT INTO ztna_revocation (token_id, record)
      VALUES ('tamperedTokenId000000', ${store.sql.json({ tokenId: 42 })})`;
    await assert.rejects(() => store.listRevocations(), StoreCorruptError);
  } finally {
    store.close();
    await store.ended;
  }
});

/** Resolves with the first ids `watch` reports at or after now, or "none" after `timeoutMs`. */
function nextReport(
  queue: { ids: string[]; at: number }[],
  timeoutMs: number,
): Promise<{ ids: string[]; at: number } | "none"> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = setInterval(() => {
      const next = queue.shift();
      if (next !== undefined || Date.now() > deadline) {
        clearInterval(check);
        resolve(next ?? "none");
      }
    }, 10);
  });
}

const revocation = (tokenId: string) => ({ tokenId, revokedAt: 1, revokedBy: "admin:ops" });

Deno.test("PostgresStore: another relay hears of a revocation by NOTIFY, at once", async () => {
  const { store: here, url } = await freshStore();
  const there = await openPostgresStore({
    url,
    password: server!.password,
    caCerts: [server!.caPem],
  });
  const stop = new AbortController();
  try {
    await here.revoke(revocation("earlierRevokedToken01"));
    const reports: { ids: string[]; at: number }[] = [];
    // A poll a minute apart: whatever arrives sooner came by NOTIFY.
    await there.watchRevocations((ids) => reports.push({ ids, at: Date.now() }), {
      pollMs: 60_000,
      signal: stop.signal,
    });
    assert.deepEqual(await nextReport(reports, 1_000).then((r) => r !== "none" && r.ids), [
      "earlierRevokedToken01",
    ]);
    const sent = Date.now();
    await here.revoke(revocation("pushedRevokedToken001"));
    const pushed = await nextReport(reports, 3_000);
    assert.ok(pushed !== "none", "no NOTIFY within 3 s");
    assert.deepEqual(pushed.ids, ["pushedRevokedToken001"]);
    console.log(`push delivered in ${pushed.at - sent} ms`);
    // Revoking again changes nothing: no second report.
    await here.revoke(revocation("pushedRevokedToken001"));
    assert.equal(await nextReport(reports, 300), "none");
    stop.abort();
    await here.revoke(revocation("afterStopRevoked00001"));
    assert.equal(await nextReport(reports, 300), "none");
  } finally {
    stop.abort();
    for (const s of [here, there]) s.close();
    await Promise.all([here.ended, there.ended]);
  }
});

Deno.test("PostgresStore: polling delivers what NOTIFY missed, and LISTEN comes back", async () => {
  const { store: here, url } = await freshStore();
  const there = await openPostgresStore({
    url,
    password: server!.password,
    caCerts: [server!.caPem],
  });
  const stop = new AbortController();
  const pollMs = 300;
  try {
    const reports: { ids: string[]; at: number }[] = [];
    await there.watchRevocations((ids) => reports.push({ ids, at: Date.now() }), {
      pollMs,
      signal: stop.signal,
    });
    // A row written without NOTIFY (as by a relay whose notification was lost): only a poll sees it.
    const written = Date.now();
    await here.sql`INSERT INTO ztna_revocation (token_id, record)
      VALUES ('silentRevokedToken001', ${here.sql.json(revocation("silentRevokedToken001"))})`;
    const polled = await nextReport(reports, pollMs + 1_000);
    assert.ok(polled !== "none", `no poll within ${pollMs + 1_000} ms`);
    assert.deepEqual(polled.ids, ["silentRevokedToken001"]);
    console.log(`poll delivered in ${polled.at - written} ms (pollMs ${pollMs})`);
    // The listening backend dies (a failover, an idle-killer): revocations still arrive.
    const killed = await here.sql`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
      WHERE datname = current_database() AND query ILIKE 'listen%'`;
    assert.equal(killed.length, 1);
    await here.revoke(revocation("afterKillRevoked00001"));
    const healed = await nextReport(reports, pollMs + 2_000);
    assert.ok(healed !== "none", "nothing delivered after the listening backend died");
    assert.deepEqual(healed.ids, ["afterKillRevoked00001"]);
    // The client listens again by itself: a later push arrives well before any poll could matter.
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const listening = await here.sql`SELECT 1 FROM pg_stat_activity
        WHERE datname = current_database() AND query ILIKE 'listen%'`;
      if (listening.length === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await here.revoke(revocation("afterRelistenRevoked1"));
    const again = await nextReport(reports, pollMs + 1_000);
    assert.ok(again !== "none");
    assert.deepEqual(again.ids, ["afterRelistenRevoked1"]);
  } finally {
    stop.abort();
    for (const s of [here, there]) s.close();
    await Promise.all([here.ended, there.ended]);
  }
});

Deno.test("PostgresStore: shared ACME state (one account key, one order at a time)", async () => {
  const { store, url } = await freshStore();
  const other = await openPostgresStore({
    url,
    password: server!.password,
    caCerts: [server!.caPem],
  });
  try {
    const dir = "https://acme.example.com/directory";
    const keys = await Promise.all([
      store.acme.acmeAccountKey(dir, () => Promise.resolve("key-a")),
      other.acme.acmeAccountKey(dir, () => Promise.resolve("key-b")),
    ]);
    assert.equal(keys[0], keys[1]);
    assert.equal(
      await other.acme.acmeAccountKey(dir, () => Promise.reject(new Error("no"))),
      keys[0],
    );

    const release = Promise.withResolvers<void>();
    const holding = store.acme.tryAcmeOrderLock(async () => {
      await release.promise;
      return "ordered";
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await other.acme.tryAcmeOrderLock(() => Promise.resolve("second")), undefined);
    release.resolve();
    assert.deepEqual(await holding, { value: "ordered" });
    assert.deepEqual(await other.acme.tryAcmeOrderLock(() => Promise.resolve(2)), { value: 2 });

    assert.equal(await store.acme.getAcmeCertificate(), undefined);
    const record = {
      cert: "C",
      key: "K",
      directoryUrl: dir,
      domains: ["relay.example.com"],
      storedAt: 5,
    };
    await store.acme.putAcmeCertificate(record);
    await store.acme.putAcmeCertificate({ ...record, cert: "C2" });
    assert.deepEqual(await other.acme.getAcmeCertificate(), { ...record, cert: "C2" });

    await store.acme.putAcmeChallenge("tok_1", "tok_1.thumb", Date.now());
    assert.equal(await other.acme.getAcmeChallenge("tok_1"), "tok_1.thumb");
    await other.acme.deleteAcmeChallenge("tok_1");
    assert.equal(await store.acme.getAcmeChallenge("tok_1"), undefined);
  } finally {
    for (const s of [store, other]) s.close();
    await Promise.all([store.ended, other.ended]);
  }
});

// Registered last, so it runs after every test above (Deno runs a file's tests in order).
Deno.test("PostgresStore: the test server stops", async () => {
  await server?.stop();
  server = undefined;
});
