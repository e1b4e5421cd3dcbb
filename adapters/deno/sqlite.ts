/**
 * SQLite storage on Deno: Deno runs `node:sqlite` (measured with Deno 2.9.6: the storage suite and the kill -9
 * test pass), so this is the Node adapter. Deno's own KV (`type: denokv`) needs no npm build on any platform;
 * SQLite on Deno is for a database file shared with Bun or Node, or one SQLite tool can read.
 * @module
 */

export { openSqlite, openSqliteStorage } from "../node/sqlite.ts";
