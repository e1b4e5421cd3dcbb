/**
 * The dashboard's stylesheet: system fonts, light and dark themes, and a phone layout where tables become cards.
 * @module
 */

/** Served at `/assets/dashboard.css`. */
export const PAGE_CSS: string = `
:root {
  --bg: #f4f6fb; --panel: #ffffff; --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --soft: #f8fafc;
  --brand: #4f46e5; --brand-ink: #ffffff; --in: #4f46e5; --out: #0ea5e9; --conn: #10b981;
  --danger: #dc2626; --danger-soft: #fef2f2; --ok: #059669; --warn: #d97706;
  --radius: 12px; --shadow: 0 1px 2px rgba(15, 23, 42, .06), 0 1px 8px rgba(15, 23, 42, .04);
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
  color-scheme: light;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0b1020; --panel: #121a2e; --ink: #e2e8f0; --muted: #94a3b8; --line: #23304a; --soft: #0f172a;
    --brand: #818cf8; --brand-ink: #0b1020; --in: #818cf8; --out: #38bdf8; --conn: #34d399;
    --danger: #f87171; --danger-soft: #2a1215; --shadow: none; color-scheme: dark;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
h1, h2 { margin: 0; font-weight: 650; }
h1 { font-size: 18px; letter-spacing: -.01em; }
h2 { font-size: 14px; margin-bottom: 10px; }
code, .mono { font-family: var(--mono); font-size: 12.5px; }
[hidden] { display: none !important; }

.topbar {
  display: flex; align-items: center; justify-content: space-between; gap: 12px;
  padding: 14px 24px; background: var(--panel); border-bottom: 1px solid var(--line);
}
.brand { display: flex; align-items: center; gap: 12px; min-width: 0; }
.brand img { flex: none; border-radius: 7px; }
.sub { margin: 0; color: var(--muted); font-size: 12.5px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.pill {
  display: inline-block; padding: 0 7px; border-radius: 999px; background: var(--soft);
  border: 1px solid var(--line); font-size: 11.5px; color: var(--muted);
}
.pill:empty { display: none; }
.status { display: flex; align-items: center; gap: 8px; font-size: 12.5px; color: var(--muted); white-space: nowrap; }
.status .dot { width: 9px; height: 9px; border-radius: 50%; background: var(--warn); }
.status[data-state="live"] .dot { background: var(--ok); box-shadow: 0 0 0 4px color-mix(in srgb, var(--ok) 18%, transparent); }
.status[data-state="down"] .dot { background: var(--danger); }

.tabs {
  display: flex; gap: 4px; padding: 0 20px; background: var(--panel); border-bottom: 1px solid var(--line);
  overflow-x: auto; scrollbar-width: none; position: sticky; top: 0; z-index: 5;
}
.tabs::-webkit-scrollbar { display: none; }
.tabs a {
  display: flex; align-items: center; gap: 6px; padding: 11px 12px; color: var(--muted); text-decoration: none;
  border-bottom: 2px solid transparent; white-space: nowrap; font-weight: 550;
}
.tabs a:hover { color: var(--ink); }
.tabs .short { display: none; }
.tabs a[aria-current="page"] { color: var(--brand); border-bottom-color: var(--brand); }
.count {
  min-width: 20px; padding: 0 6px; border-radius: 999px; background: var(--soft); border: 1px solid var(--line);
  font-size: 11.5px; text-align: center; color: var(--muted);
}

main { max-width: 1280px; margin: 0 auto; padding: 20px 24px 40px; }
.panel { display: grid; gap: 16px; }

.cards { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; }
.card, .box, .chart-box, .table-wrap {
  background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); box-shadow: var(--shadow);
}
.card { padding: 14px 16px; min-width: 0; }
.card .label { color: var(--muted); font-size: 12px; font-weight: 550; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 26px; font-weight: 680; letter-spacing: -.02em; margin: 4px 0 2px; font-variant-numeric: tabular-nums; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.card .hint { color: var(--muted); font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.card.accent { box-shadow: inset 0 3px 0 var(--brand), var(--shadow); }

.charts { display: grid; grid-template-columns: 2fr 1fr; gap: 12px; }
.chart-box { margin: 0; padding: 12px 14px 8px; min-width: 0; }
.chart-box figcaption { display: flex; justify-content: space-between; align-items: center; font-weight: 600; margin-bottom: 6px; }
.chart-box canvas { display: block; width: 100%; height: 200px; }
.legend { color: var(--muted); font-weight: 500; font-size: 12px; display: flex; align-items: center; gap: 6px; }
.sw { display: inline-block; width: 10px; height: 10px; border-radius: 3px; }
.sw.in { background: var(--in); } .sw.out { background: var(--out); } .sw.conn { background: var(--conn); }

.split { display: grid; grid-template-columns: 3fr 2fr; gap: 12px; }
.box { padding: 16px; min-width: 0; }
.facts { display: grid; grid-template-columns: auto 1fr; gap: 6px 16px; margin: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }

.toolbar { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; margin: 0; }
.toolbar input { flex: 1 1 260px; max-width: 420px; }
.meta { color: var(--muted); font-size: 12.5px; margin-left: auto; }
input[type="search"], input[type="text"], input[type="password"], textarea, select {
  font: inherit; color: var(--ink); background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 10px; width: 100%;
}
input:focus, textarea:focus, select:focus, .btn:focus-visible { outline: 2px solid color-mix(in srgb, var(--brand) 55%, transparent); outline-offset: 1px; }
textarea { font-family: var(--mono); font-size: 13px; resize: vertical; }

.btn {
  font: inherit; font-weight: 600; border-radius: 8px; border: 1px solid var(--line); background: var(--panel);
  color: var(--ink); padding: 7px 14px; cursor: pointer; white-space: nowrap;
}
.btn:hover { border-color: var(--muted); }
.btn.primary { background: var(--brand); border-color: var(--brand); color: var(--brand-ink); }
.btn.danger { color: var(--danger); }
.btn.danger:hover, .btn.danger.armed { background: var(--danger); border-color: var(--danger); color: #fff; }
.btn.small { padding: 3px 10px; font-size: 12.5px; }
.btn:disabled { opacity: .55; cursor: default; }
.icon { border: 0; background: none; color: var(--muted); font-size: 22px; line-height: 1; cursor: pointer; padding: 2px 6px; }

.table-wrap { overflow-x: auto; }
.table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
.table th {
  text-align: left; font-size: 11.5px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  font-weight: 600; padding: 10px 12px; border-bottom: 1px solid var(--line); background: var(--soft); white-space: nowrap;
}
.table td { padding: 9px 12px; border-bottom: 1px solid var(--line); vertical-align: middle; }
.table tbody tr:last-child td { border-bottom: 0; }
.table tbody tr:hover td { background: color-mix(in srgb, var(--brand) 4%, transparent); }
.table .num { text-align: right; }
.table.compact td, .table.compact th { padding: 7px 10px; }
.box .table th { background: none; }
.cell-id { font-family: var(--mono); font-size: 12.5px; word-break: break-all; }
.link { color: var(--brand); cursor: pointer; background: none; border: 0; padding: 0; font: inherit; text-align: left; }
.link:hover { text-decoration: underline; }
.payload { font-family: var(--mono); font-size: 12.5px; max-width: 380px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tag { display: inline-block; padding: 0 6px; border-radius: 6px; background: var(--soft); border: 1px solid var(--line); font-size: 11.5px; color: var(--muted); margin-right: 4px; }
.rate-up { color: var(--ok); font-weight: 650; }
.empty { margin: 0; padding: 28px; text-align: center; color: var(--muted); }
.pager { display: flex; gap: 8px; justify-content: flex-end; align-items: center; color: var(--muted); font-size: 12.5px; }
.pager:empty { display: none; }

.publish { display: grid; gap: 12px; max-width: 640px; }
.publish label, .signin label { display: grid; gap: 5px; font-weight: 550; font-size: 13px; }
.row { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
.row > label { flex: 0 1 220px; }
.check { display: flex !important; grid-template-columns: none; align-items: center; gap: 8px !important; }
.check input { width: 16px; height: 16px; }
.result { font-size: 13px; color: var(--muted); }
.result.ok { color: var(--ok); } .result.err { color: var(--danger); }

dialog {
  border: 1px solid var(--line); border-radius: var(--radius); padding: 0; width: min(680px, calc(100vw - 24px));
  background: var(--panel); color: var(--ink); box-shadow: 0 20px 60px rgba(15, 23, 42, .25);
}
dialog::backdrop { background: rgba(15, 23, 42, .45); }
.dialog-head { display: flex; justify-content: space-between; align-items: center; padding: 14px 16px; border-bottom: 1px solid var(--line); margin: 0; }
.dialog-head h2 { margin: 0; word-break: break-all; }
#detail-body { padding: 16px; display: grid; gap: 14px; max-height: 70vh; overflow: auto; }
.signin { padding: 20px; display: grid; gap: 12px; }
.signin p { margin: 0; color: var(--muted); }

#toasts { position: fixed; right: 16px; bottom: 16px; display: grid; gap: 8px; z-index: 20; }
.toast {
  background: var(--ink); color: var(--panel); padding: 10px 14px; border-radius: 10px; font-size: 13px;
  box-shadow: 0 8px 24px rgba(15, 23, 42, .25); max-width: min(420px, calc(100vw - 32px));
}
.toast.err { background: var(--danger); color: #fff; }

@media (max-width: 1000px) {
  .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .charts, .split { grid-template-columns: 1fr; }
}
@media (max-width: 700px) {
  .topbar { padding: 12px 14px; }
  .tabs { padding: 0 6px; gap: 0; }
  .tabs a { padding: 11px 9px; }
  .tabs .long, .tabs .count { display: none; }
  .tabs .short { display: inline; }
  main { padding: 14px 12px 32px; }
  .card { padding: 12px; }
  .card .value { font-size: 21px; }
  .chart-box canvas { height: 160px; }
  .meta { margin-left: 0; width: 100%; }
  .toolbar input { max-width: none; }
  /* Tables become one card per row: the first cell is its title, the others a labelled grid. */
  .table-wrap { background: none; border: 0; box-shadow: none; overflow: visible; }
  .table-wrap .table thead { display: none; }
  .table-wrap .table, .table-wrap .table tbody { display: block; }
  .table-wrap .table tr {
    display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 10px 12px; padding: 12px 14px;
    background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius);
    margin-bottom: 10px; box-shadow: var(--shadow);
  }
  .table-wrap .table td { display: block; border: 0; padding: 0; text-align: left; min-width: 0; overflow-wrap: anywhere; }
  .table-wrap .table td::before {
    content: attr(data-label); display: block; color: var(--muted); font-size: 11px; font-weight: 500;
    text-transform: uppercase; letter-spacing: .04em;
  }
  .table-wrap .table td:first-child { grid-column: 1 / -1; font-size: 15px; font-weight: 600; }
  .table-wrap .table td:first-child::before, .table-wrap .table td.actions::before { content: none; }
  .table-wrap .table td.wide { grid-column: span 2; }
  .table-wrap .table td.payload { grid-column: 1 / -1; max-width: none; white-space: normal; }
  .table-wrap .table td.actions { grid-column: -2 / -1; text-align: right; align-self: end; }
  .table-wrap .table tbody tr:hover td { background: none; }
}
`;
