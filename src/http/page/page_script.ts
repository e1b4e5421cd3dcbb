/**
 * The dashboard's script, plain browser JavaScript (no framework, nothing fetched from elsewhere).
 *
 * Live data comes from one Server-Sent Events stream (`api/v1/events`), read with `fetch` so that a bearer token
 * can go in the Authorization header (EventSource cannot send headers). A panel reloads its table only when an
 * event says its data changed. Everything from the broker is inserted as text (`textContent`), never as HTML:
 * client ids, topics and payloads are chosen by clients.
 *
 * The code sits in three parts (base, live, panels), each written inside `String.raw` so that backslashes reach
 * the browser as typed; they share one function scope, joined here.
 * @module
 */

import { SCRIPT_BASE } from "./_script_base.ts";
import { SCRIPT_LIVE } from "./_script_live.ts";
import { SCRIPT_PANELS } from "./_script_panels.ts";
import { SCRIPT_EXTENSIONS } from "./_script_extensions.ts";

/** Served at `/assets/dashboard.js`. */
export const PAGE_SCRIPT: string = "(() => {\n" + SCRIPT_BASE + SCRIPT_LIVE + SCRIPT_PANELS +
  SCRIPT_EXTENSIONS +
  "})();\n";
