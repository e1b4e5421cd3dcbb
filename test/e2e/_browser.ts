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
  const profile = await mkdtemp(join(tmpdir(), "comqtt-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ARGS,
      viewport,
      timeout: 30_000,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw new Error(
      `Cannot start Chromium (${CHROMIUM_PATH}) through playwright-core: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}
