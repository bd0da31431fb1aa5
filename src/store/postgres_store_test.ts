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

// Registered last, so it runs after every test above (Deno runs a file's tests in order).
Deno.test("PostgresStore: the test server stops", async () => {
  await server?.stop();
  server = undefined;
});
