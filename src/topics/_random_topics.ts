/**
 * Seeded generators of topics and filters for the randomized cross-checks of this folder's tests.
 * Test support only: nothing in the broker imports it.
 * @module
 */

/** A seeded pseudo-random source in [0, 1) (mulberry32), so a failing run can be replayed. */
export function makeRandom(seed: number): () => number {
  let state = seed >>> 0;
  return function next(): number {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// A small alphabet so that random filters and topics collide often; "" and "$s" cover empty
// levels and the $ rule, "é" raw multi-byte comparison.
const LEVELS = ["a", "b", "c", "", "$s", "é"];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

/** A valid topic name of 1 to 4 levels. */
export function randomTopic(random: () => number): string {
  const count = 1 + Math.floor(random() * 4);
  const levels: string[] = [];
  for (let i = 0; i < count; i++) levels.push(pick(random, LEVELS));
  const topic = levels.join("/");
  return topic === "" ? "a" : topic; // an empty topic name is not valid
}

/** A valid topic filter of 1 to 4 levels, with `+` in any level and `#` only as the last one. */
export function randomFilter(random: () => number): string {
  const count = 1 + Math.floor(random() * 4);
  const levels: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = random();
    if (r < 0.2) levels.push("+");
    else if (r < 0.3 && i === count - 1) levels.push("#");
    else levels.push(pick(random, LEVELS));
  }
  const filter = levels.join("/");
  return filter === "" ? "#" : filter;
}
