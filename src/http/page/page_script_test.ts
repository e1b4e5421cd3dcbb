import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PAGE_SCRIPT } from "./page_script.ts";
import { PAGE_HTML } from "./page_html.ts";
import { PAGE_CSS } from "./page_css.ts";

describe("dashboard page assets", () => {
  it("the joined script is valid JavaScript", () => {
    // Parses only; nothing runs (the browser test runs it).
    assert.equal(typeof new Function(PAGE_SCRIPT), "function");
  });

  it("the script never writes HTML from data, and nothing loads from another host", () => {
    assert.doesNotMatch(PAGE_SCRIPT, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    for (const text of [PAGE_SCRIPT, PAGE_HTML, PAGE_CSS]) {
      assert.doesNotMatch(text, /(src|href)=["']?(https?:)?\/\//);
      assert.doesNotMatch(text, /@import|url\(\s*["']?https?:/);
    }
  });

  it("every element the script looks up by id exists in the page", () => {
    const ids = new Set([...PAGE_HTML.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]));
    const used = new Set(
      [...PAGE_SCRIPT.matchAll(/\$\("([a-z-]+)"\)|setText\("([a-z-]+)"/g)].map((m) => m[1] ?? m[2]),
    );
    const missing = [...used].filter((id) => !ids.has(id));
    assert.deepEqual(missing, []);
    assert.ok(used.size > 20, `found ${used.size} ids`);
  });
});
