/**
 * Part of the dashboard's script: the event stream, the overview cards and the charts.
 * page_script.ts joins the parts inside one function.
 * Plain browser JavaScript inside `String.raw`: no backtick and no dollar-brace sequence in it.
 * @module
 */

/** Browser code: the event stream, the overview cards and the charts. */
export const SCRIPT_LIVE: string = String
  .raw`// ---- live updates -------------------------------------------------------------------------------------

function setLive(mode, text) {
  $("live-status").dataset.state = mode;
  setText("live-text", text);
}

async function connectEvents() {
  if (state.events) state.events.abort();
  const controller = new AbortController();
  state.events = controller;
  try {
    const res = await fetch("api/v1/events", {
      headers: authHeaders({ Accept: "text/event-stream" }),
      signal: controller.signal,
      cache: "no-store",
    });
    if (res.status === 401) {
      setLive("down", "Sign in needed");
      signIn(await res.json().catch(() => null));
      return;
    }
    if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        handleEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  } catch (_) {
    // The stream broke: reconnect below.
  }
  if (controller.signal.aborted) return;
  setLive("down", "Reconnecting");
  setTimeout(() => { if (state.events === controller) connectEvents(); }, 2000);
}

function handleEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (data.length === 0) return;
  let payload;
  try { payload = JSON.parse(data.join("\n")); } catch (_) { return; }
  if (name === "hello") onHello(payload);
  else if (name === "tick") onTick(payload);
}

function onHello(overview) {
  setLive("live", "Live");
  setText("broker-version", "MQTT broker " + overview.version);
  setText("broker-runtime", overview.runtime.name + " " + overview.runtime.version);
  state.intervalMs = overview.history.intervalMs;
  state.samples = overview.history.samples.slice(-HISTORY);
  state.maxQoS = overview.capabilities.maximumQoS;
  setText("fact-started", new Date(overview.startedAt).toLocaleString());
  setText("fact-qos", String(overview.capabilities.maximumQoS));
  // This node and the others, each with its connected clients (the client list shows every node's, each with its node).
  const cluster = overview.cluster;
  setText("fact-cluster", cluster
    ? cluster.members.map((m) => m.node + (m.self ? " (this node)" : "") + ": " + m.clients + " clients").join(", ")
    : "none");
  const tbody = $("listeners-table").tBodies[0];
  tbody.replaceChildren(...overview.listeners.map((l) =>
    el("tr", null, [cell("Id", l.id), cell("Protocol", l.protocol), cell("Address", l.address, "mono")])
  ));
  state.changes = null;
  onTick(overview, true);
}

function onTick(update, fromHello) {
  if (!fromHello) {
    state.samples.push(update.rates);
    if (state.samples.length > HISTORY) state.samples.splice(0, state.samples.length - HISTORY);
    setLive("live", "Live");
  }
  const c = update.counters;
  const r = update.rates;
  setText("stat-clients", fmtCount(c.clientsConnected));
  setText("stat-clients-hint", "max " + fmtCount(c.clientsMaximum));
  setText("stat-msg-in", fmtRate(r.messagesIn));
  setText("stat-msg-out", fmtRate(r.messagesOut));
  setText("stat-msg-in-total", fmtCount(c.messagesReceived));
  setText("stat-msg-out-total", fmtCount(c.messagesSent));
  setText("stat-bytes", fmtBytes(r.bytesIn + r.bytesOut) + "/s");
  setText("stat-bytes-in", fmtBytes(r.bytesIn) + "/s");
  setText("stat-bytes-out", fmtBytes(r.bytesOut) + "/s");
  setText("stat-subs", fmtCount(c.subscriptions));
  setText("stat-sessions", fmtCount(c.sessions));
  setText("stat-retained", fmtCount(c.retained));
  setText("stat-inflight", fmtCount(c.inflight) + " / " + fmtCount(c.queued));
  setText("stat-dropped", fmtCount(c.droppedTotal));
  const reasons = Object.keys(c.dropped).filter((k) => c.dropped[k] > 0).map((k) => k + " " + c.dropped[k]);
  setText("stat-dropped-hint", reasons.length ? reasons.join(" · ") : "no drops");
  setText("tab-clients", fmtCount(c.clientsConnected));
  setText("tab-subscriptions", fmtCount(c.subscriptions));
  setText("tab-retained", fmtCount(c.retained));
  setText("fact-uptime", fmtDuration(update.uptime));
  setText("fact-connections", fmtCount(c.connectionsTotal));
  setText("fact-refused", fmtCount(c.connectsRefused));
  setText("fact-errors", fmtCount(c.protocolErrors));
  drawAuthBackends(update.authBackends || []);
  renderExtensions(update);
  drawCharts();

  const before = state.changes;
  const now = update.changes;
  const messagesMoved = c.messagesReceived !== state.lastMessages;
  state.changes = now;
  state.lastMessages = c.messagesReceived;
  if (state.tab === "clients" && (!before || before.clients !== now.clients || messagesMoved)) loadClients();
  if (state.tab === "subscriptions" && (!before || before.subscriptions !== now.subscriptions)) loadSubscriptions();
  if (state.tab === "retained" && (!before || before.retained !== now.retained)) loadRetained();
}

function drawAuthBackends(list) {
  $("auth-box").hidden = list.length === 0;
  $("auth-table").tBodies[0].replaceChildren(...list.map((b) => {
    const mean = b.latencySeconds.count ? (1000 * b.latencySeconds.sum / b.latencySeconds.count).toFixed(1) + " ms" : "–";
    return el("tr", null, [
      cell("Backend", b.name, "mono"),
      cell("Calls", fmtCount(b.calls.auth + b.calls.acl)),
      cell("Errors", fmtCount(b.errors.auth + b.errors.acl)),
      cell("Cache hits", fmtCount(b.cacheHits)),
      cell("Misses", fmtCount(b.cacheMisses)),
      cell("Mean latency", mean),
    ]);
  }));
}

// ---- charts -------------------------------------------------------------------------------------------

function niceMax(max, integer) {
  if (!(max > 0)) return integer ? 4 : 1;
  const power = Math.pow(10, Math.floor(Math.log10(max)));
  for (const step of [1, 2, 2.5, 5, 10]) {
    const candidate = step * power;
    if (candidate >= max * 1.05) return integer ? Math.max(4, Math.ceil(candidate / 4) * 4) : candidate;
  }
  return 10 * power;
}

function drawChart(canvas, series, integer) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (width === 0 || height === 0) return;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const style = getComputedStyle(document.documentElement);
  const gridColor = style.getPropertyValue("--line").trim();
  const textColor = style.getPropertyValue("--muted").trim();
  const left = 40, right = 6, top = 8, bottom = 20;
  const plotW = width - left - right, plotH = height - top - bottom;
  let max = 0;
  for (const s of series) for (const v of s.values) if (v > max) max = v;
  max = niceMax(max, integer);

  ctx.font = "11px system-ui, sans-serif";
  ctx.lineWidth = 1;
  ctx.strokeStyle = gridColor;
  ctx.fillStyle = textColor;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let i = 0; i <= 4; i++) {
    const y = Math.round(top + (plotH * i) / 4) + 0.5;
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(width - right, y);
    ctx.stroke();
    const value = (max * (4 - i)) / 4;
    ctx.fillText(integer ? String(Math.round(value)) : fmtRate(value), left - 6, y);
  }
  ctx.textBaseline = "alphabetic";
  const span = (HISTORY - 1) * state.intervalMs / 1000;
  ctx.textAlign = "left";
  ctx.fillText("-" + fmtDuration(span), left, height - 4);
  ctx.textAlign = "right";
  ctx.fillText("now", width - right, height - 4);

  const step = plotW / (HISTORY - 1);
  for (const s of series) {
    const values = s.values;
    if (values.length === 0) continue;
    const x0 = left + plotW - (values.length - 1) * step;
    const yOf = (v) => top + plotH - (Math.min(v, max) / max) * plotH;
    const color = style.getPropertyValue(s.color).trim();
    ctx.beginPath();
    values.forEach((v, i) => (i === 0 ? ctx.moveTo(x0, yOf(v)) : ctx.lineTo(x0 + i * step, yOf(v))));
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.lineJoin = "round";
    ctx.setLineDash(s.dash || []);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.lineTo(x0 + (values.length - 1) * step, top + plotH);
    ctx.lineTo(x0, top + plotH);
    ctx.closePath();
    ctx.globalAlpha = 0.12;
    ctx.fillStyle = color;
    ctx.fill();
    ctx.globalAlpha = 1;
  }
}

function drawCharts() {
  if (state.tab !== "overview") return;
  drawChart($("chart-messages"), [
    { values: state.samples.map((s) => s.messagesIn), color: "--in" },
    // Dashed, so that "out" stays visible where it equals "in" (one subscriber per message).
    { values: state.samples.map((s) => s.messagesOut), color: "--out", dash: [6, 4] },
  ], false);
  drawChart($("chart-connections"), [{ values: state.samples.map((s) => s.connections), color: "--conn" }], true);
}

`;
