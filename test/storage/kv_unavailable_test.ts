/**
 * `type: denokv` where `@deno/kv` has no build (linux-arm64 under Bun or Node): the Bun and Node openers say
 * to use `sqlite`. The failure is simulated with an injected loader, failing the two ways the package fails
 * there: the import itself, or `openKv` ("No default napi interface", caused by the missing platform package).
 * The openers use nothing runtime-specific besides `@deno/kv`, so both run under every runtime.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import * as bunKv from "../../adapters/bun/kv.ts";
import * as nodeKv from "../../adapters/node/kv.ts";
import type { DenoKvPackage } from "../../adapters/_deno_kv_package.ts";

const PLATFORM = `${process.platform}-${process.arch}`;

/** A package whose openKv fails as @deno/kv 0.14 does when its N-API build is missing. */
function packageWithoutNativeBuild(): DenoKvPackage {
  const fail = () => {
    const error = new Error("No default napi interface, provide one via the 'napi' option.");
    error.cause = new Error(
      "Cannot find module '@deno/kv-linux-arm64-gnu'\nRequire stack:\n- _napi_index.cjs",
    );
    return Promise.reject(error);
  };
  return { openKv: fail, makeLimitedV8Serializer: () => ({}) } as unknown as DenoKvPackage;
}

for (const [name, adapter] of [["bun", bunKv], ["node", nodeKv]] as const) {
  describe(`denokv on ${name} without a @deno/kv build`, () => {
    it("a package whose native build is missing fails with a message naming sqlite", async () => {
      await assert.rejects(
        adapter.openKvStorage("/data/comqtt.kv", {
          load: () => Promise.resolve(packageWithoutNativeBuild()),
        }),
        (err: Error) => {
          assert.match(
            err.message,
            /^Cannot open the KV database "\/data\/comqtt\.kv": the @deno\/kv package/,
          );
          assert.ok(err.message.includes(`cannot load on ${PLATFORM}`), err.message);
          assert.match(err.message, /Cannot find module '@deno\/kv-linux-arm64-gnu'\)/);
          assert.match(
            err.message,
            /set storage\.type to "sqlite" \(storage: \{ type: sqlite, path: \.\/comqtt\.db \}\)/,
          );
          return true;
        },
      );
    });

    it("a package that cannot be imported at all fails with the same hint", async () => {
      const load = () => Promise.reject(new Error("Cannot find package '@deno/kv'"));
      await assert.rejects(
        adapter.openKv("x.kv", { load }),
        /"x\.kv": the @deno\/kv package cannot load on .*\(Cannot find package '@deno\/kv'\).*type: sqlite/,
      );
    });

    it("other open failures keep their own message, without the hint", async () => {
      const pkg = {
        openKv: () => Promise.reject(new Error("file is not a database")),
        makeLimitedV8Serializer: () => ({}),
      } as unknown as DenoKvPackage;
      await assert.rejects(adapter.openKv("bad.kv", { load: () => Promise.resolve(pkg) }), (err: Error) => {
        assert.equal(err.message, 'Cannot open the KV database "bad.kv": file is not a database');
        return true;
      });
    });
  });
}
