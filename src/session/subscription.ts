/**
 * One subscription of one session, as stored in the subscription index. Declared beside the session it points
 * back to (src/session/session.ts), so the two files do not import each other.
 * @module
 */

export type { Subscription } from "./session.ts";
