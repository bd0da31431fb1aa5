/**
 * The store contract on the in-memory store.
 * @module
 */
import { MemoryStore } from "./memory_store.ts";
import { storeContract } from "./store_contract.ts";

storeContract("MemoryStore", () => Promise.resolve({ store: new MemoryStore() }));
