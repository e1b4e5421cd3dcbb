/**
 * Headless Chromium for end-to-end tests: Debian's `chromium` driven by playwright-core (which downloads no
 * browser of its own), with a fresh profile that is deleted afterwards. Pages must be on 127.0.0.1 only.
 * @module
 */

import { chromium } from "playwright-core";
import type { BrowserContext } from "playwright-core";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** Where Debian's package puts the browser; `CHROMIUM_PATH` overrides it. */
export const CHROMIUM_PATH: string = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Flags that keep the browser off the network and quick to start (nothing but the page under test). */
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A browser with one context; `close()` stops it and deletes its profile. */
export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Start Chromium. Fails with the reason (never skips) when the browser is missing or does not start, so a
 * machine without it shows up as a failure, not as a quietly smaller suite.
 */
export async function launchChromium(viewport = { width: 1280, height: 900 }): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Cannot run the browser test: no Chromium at ${CHROMIUM_PATH}. Install Debian's package ` +
        "(apt-get install chromium; .ci/run does it) or set CHROMIUM_PATH.",
    );
  }
  // Two tries of 14 s: it starts in 0.4-0.9 s here, also with a busy loop on one core, but once, on a loaded
  // machine, it started and never answered on its pipe within 30 s. The second try is a fresh process with a fresh
  // profile; both together stay within Bun's 30 s for a hook. A browser that cannot start twice fails the test.
  let profile = "";
  let context: BrowserContext | undefined;
  for (let attempt = 1; context === undefined; attempt++) {
    profile = await mkdtemp(join(tmpdir(), "comqtt-chromium-"));
    try {
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: ARGS,
        viewport,
        timeout: 14_000,
      });
    } catch (err) {
      await rm(profile, { recursive: true, force: true });
      if (attempt < 2) continue;
      throw new Error(
        `Cannot start Chromium (${CHROMIUM_PATH}) through playwright-core: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}
