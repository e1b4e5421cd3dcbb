/**
 * Part of the dashboard's script: the bridges and rules tables of the overview, redrawn on every live update.
 * page_script.ts joins the parts inside one function.
 * Plain browser JavaScript inside `String.raw`: no backtick and no dollar-brace sequence in it.
 * @module
 */

/** Browser code: bridges and rules. */
export const SCRIPT_EXTENSIONS: string = String
  .raw`// ---- bridges and rules -------------------------------------------------------------------------------

function renderExtensions(update) {
  const bridges = update.bridges || [];
  const rules = update.rules || [];
  $("extensions").hidden = bridges.length === 0 && rules.length === 0;
  $("bridges-box").hidden = bridges.length === 0;
  $("rules-box").hidden = rules.length === 0;
  $("bridges-table").tBodies[0].replaceChildren(...bridges.map((b) =>
    el("tr", { title: b.lastError ? "last error: " + b.lastError : null }, [
      cell("Name", b.name, "mono"),
      cell("Remote", b.remote + " (" + protocolName(b.protocolVersion) + ")", "mono"),
      cell("State", b.connected ? "connected" : "disconnected"),
      cell("Queued", fmtCount(b.queued) + " · " + fmtBytes(b.queuedBytes)),
      cell("Out / in", fmtCount(b.forwardedOut) + " / " + fmtCount(b.forwardedIn)),
      cell("Dropped", fmtCount(b.dropped + b.refused + (b.expired || 0))),
    ])
  ));
  $("rules-table").tBodies[0].replaceChildren(...rules.map((r) =>
    el("tr", { title: r.sql }, [
      cell("Id", r.id, "mono"),
      cell("Matched", fmtCount(r.matched)),
      cell("Passed", fmtCount(r.passed)),
      cell("Failed", fmtCount(r.failed)),
      cell("Actions ok / failed", fmtCount(r.actionSuccess) + " / " + fmtCount(r.actionErrors)),
    ])
  ));
}
`;
