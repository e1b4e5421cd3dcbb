/**
 * The storage suite on the in-memory backend.
 */

import { MemoryStorage } from "../../src/storage/memory_storage.ts";
import { runStorageSuite } from "./storage_suite.ts";

runStorageSuite("memory", () => {
  const storage = new MemoryStorage();
  return Promise.resolve({ storage, cleanup: () => storage.close() });
});
