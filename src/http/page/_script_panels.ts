/**
 * Part of the dashboard's script: the tables, the publish form, navigation and start.
 * page_script.ts joins the parts inside one function.
 * Plain browser JavaScript inside `String.raw`: no backtick and no dollar-brace sequence in it.
 * @module
 */

/** Browser code: the tables, the publish form, navigation and start. */
export const SCRIPT_PANELS: string = String
  .raw`// ---- tables -------------------------------------------------------------------------------------------

function renderPager(id, page, onMove) {
  const pager = $(id);
  if (page.total <= page.limit && page.offset === 0) { pager.replaceChildren(); return; }
  const from = page.total === 0 ? 0 : page.offset + 1;
  const to = Math.min(page.total, page.offset + page.items.length);
  const prev = el("button", { type: "button", class: "btn small", text: "Previous" });
  const next = el("button", { type: "button", class: "btn small", text: "Next" });
  prev.disabled = page.offset === 0;
  next.disabled = page.offset + page.limit >= page.total;
  prev.addEventListener("click", () => onMove(Math.max(0, page.offset - page.limit)));
  next.addEventListener("click", () => onMove(page.offset + page.limit));
  pager.replaceChildren(el("span", { text: from + "–" + to + " of " + page.total }), prev, next);
}

async function loadClients() {
  const s = state.clients;
  if (s.busy) { s.again = true; return; }
  s.busy = true;
  try {
    const query = "clients?limit=" + PAGE_SIZE + "&offset=" + s.offset + "&q=" + encodeURIComponent(s.q);
    const page = await api(query);
    renderClients(page);
  } catch (err) {
    setText("clients-meta", err.message);
  } finally {
    s.busy = false;
    if (s.again) { s.again = false; loadClients(); }
  }
}

function renderClients(page) {
  // In a cluster the list spans every node; rows of other nodes carry no activity and are not disconnected here.
  const clustered = page.items.some((c) => c.node !== undefined);
  $("clients-node").hidden = !clustered;
  const rows = page.items.map((c) => el("tr", { data: { clientId: c.clientId } }, [
    cell("Client id", el("button", { type: "button", class: "link cell-id", text: c.clientId, onclick: () => openClient(c.clientId) })),
    clustered ? cell("Node", c.node) : null,
    cell("Username", c.username || "–"),
    cell("Address", c.address, "mono wide"),
    cell("MQTT", protocolName(c.protocolVersion)),
    cell("Keep-alive", c.keepAlive ? c.keepAlive + " s" : "off"),
    cell("Connected", fmtSince(c.connectedAt)),
    cell("Subs", fmtCount(c.subscriptions), "num"),
    cell("Inflight", fmtCount(c.inflight), "num"),
    cell("Queued", fmtCount(c.queued), "num"),
    cell("Msgs in", c.messagesIn === undefined ? "–" : fmtCount(c.messagesIn), "num msgs-in"),
    cell("Rate", c.messagesInRate === undefined ? "–" : fmtRate(c.messagesInRate) + "/s", c.messagesInRate > 0 ? "num rate rate-up" : "num rate"),
    cell("", c.messagesIn === undefined ? "" : confirmButton("Disconnect", "client:" + c.clientId, () => disconnect(c.clientId), "disconnect"), "actions"),
  ]));
  $("clients-table").tBodies[0].replaceChildren(...rows);
  $("clients-empty").hidden = rows.length > 0;
  $("clients-empty").textContent = state.clients.q ? "No client matches \u201c" + state.clients.q + "\u201d." : "No client is connected.";
  const silent = page.unreachable && page.unreachable.length > 0 ? " (no answer from " + page.unreachable.join(", ") + ")" : "";
  setText("clients-meta", page.total + (page.total === 1 ? " client" : " clients") + (state.clients.q ? " match" : " connected") + silent);
  renderPager("clients-pager", page, (offset) => { state.clients.offset = offset; loadClients(); });
}

async function disconnect(clientId) {
  await api("clients/" + encodeURIComponent(clientId) + "/disconnect", { method: "POST", body: {} });
  toast("Disconnected " + clientId);
  const dialog = $("detail-dialog");
  if (dialog.open) dialog.close();
  loadClients();
}

async function openClient(clientId) {
  let detail;
  try { detail = await api("clients/" + encodeURIComponent(clientId)); } catch (err) { toast(err.message, true); return; }
  setText("detail-title", clientId);
  const facts = el("dl", { class: "facts" });
  const add = (k, v) => facts.append(el("dt", { text: k }), el("dd", { text: v }));
  const c = detail.client;
  if (c) {
    add("Username", c.username || "–");
    add("Address", c.address);
    add("Listener", c.listener);
    add("MQTT", protocolName(c.protocolVersion));
    add("Keep-alive", c.keepAlive ? c.keepAlive + " s" : "off");
    add("Connected", new Date(c.connectedAt).toLocaleString());
    add("Last activity", fmtSince(c.lastActivity));
    add("Messages in", fmtCount(c.messagesIn) + " (" + fmtBytes(c.payloadBytesIn) + ")");
    add("Will", c.hasWill ? c.willTopic : "none");
  } else add("Status", "offline");
  const s = detail.session;
  if (s) {
    add("Session expiry", s.expiryInterval === null ? "never" : s.expiryInterval + " s");
    add("In flight / queued", s.inflight + " / " + s.queued);
  }
  const subs = s ? s.subscriptions : [];
  const table = el("table", { class: "table compact" }, [
    el("thead", null, [el("tr", null, [el("th", { text: "Filter" }), el("th", { text: "QoS", class: "num" }), el("th", { text: "Options" })])]),
    el("tbody", null, subs.map((sub) => el("tr", null, [
      cell("Filter", sub.filter, "cell-id"), cell("QoS", String(sub.qos), "num"), cell("Options", subOptions(sub)),
    ]))),
  ]);
  const body = [facts, el("h2", { text: "Subscriptions (" + subs.length + ")" }), subs.length ? table : el("p", { class: "empty", text: "No subscription." })];
  if (c) body.push(el("div", { class: "row" }, [confirmButton("Disconnect", "detail:" + clientId, () => disconnect(clientId), "disconnect")]));
  $("detail-body").replaceChildren(...body);
  const dialog = $("detail-dialog");
  if (!dialog.open) dialog.showModal();
}

function subOptions(sub) {
  const tags = [];
  if (sub.noLocal) tags.push("no local");
  if (sub.retainAsPublished) tags.push("retain as published");
  if (sub.retainHandling) tags.push("retain handling " + sub.retainHandling);
  if (sub.identifier !== null) tags.push("id " + sub.identifier);
  const span = el("span");
  if (tags.length === 0) span.textContent = "–";
  for (const t of tags) span.append(el("span", { class: "tag", text: t }));
  return span;
}

async function loadSubscriptions() {
  const s = state.subs;
  if (s.busy) { s.again = true; return; }
  s.busy = true;
  try {
    const page = await api("subscriptions?limit=" + PAGE_SIZE + "&offset=" + s.offset + "&filter=" + encodeURIComponent(s.q));
    const rows = page.items.map((sub) => el("tr", null, [
      cell("Filter", sub.filter, "cell-id"),
      cell("Client id", el("button", { type: "button", class: "link cell-id", text: sub.clientId, onclick: () => openClient(sub.clientId) }), "wide"),
      cell("QoS", String(sub.qos), "num"),
      cell("Options", subOptions(sub)),
    ]));
    $("subs-table").tBodies[0].replaceChildren(...rows);
    $("subs-empty").hidden = rows.length > 0;
    setText("subs-meta", page.total + (page.total === 1 ? " subscription" : " subscriptions"));
    renderPager("subs-pager", page, (offset) => { state.subs.offset = offset; loadSubscriptions(); });
  } catch (err) {
    setText("subs-meta", err.message);
  } finally {
    s.busy = false;
    if (s.again) { s.again = false; loadSubscriptions(); }
  }
}

async function loadRetained() {
  const s = state.retained;
  if (s.busy) { s.again = true; return; }
  s.busy = true;
  try {
    const page = await api("retained?limit=" + PAGE_SIZE + "&offset=" + s.offset + "&filter=" + encodeURIComponent(s.filter));
    const rows = page.items.map((m) => el("tr", { data: { topic: m.topic } }, [
      cell("Topic", m.topic, "cell-id"),
      cell("Payload", (m.payloadEncoding === "base64" ? "base64 " : "") + (m.payload === "" ? "(empty)" : m.payload), "payload"),
      cell("QoS", String(m.qos), "num"),
      cell("Size", fmtBytes(m.size), "num"),
      cell("Received", fmtSince(m.receivedAt)),
      cell("", confirmButton("Delete", "retained:" + m.topic, () => deleteRetained(m.topic), "delete"), "actions"),
    ]));
    $("retained-table").tBodies[0].replaceChildren(...rows);
    $("retained-empty").hidden = rows.length > 0;
    setText("retained-meta", page.total + (page.total === 1 ? " message" : " messages") + " match " + page.filter);
    renderPager("retained-pager", page, (offset) => { state.retained.offset = offset; loadRetained(); });
  } catch (err) {
    $("retained-table").tBodies[0].replaceChildren();
    $("retained-empty").hidden = true;
    setText("retained-meta", err.message);
  } finally {
    s.busy = false;
    if (s.again) { s.again = false; loadRetained(); }
  }
}

async function deleteRetained(topic) {
  await api("retained/" + encodeURIComponent(topic), { method: "DELETE" });
  toast("Deleted the retained message of " + topic);
  loadRetained();
}

// ---- publish ------------------------------------------------------------------------------------------

async function publish(event) {
  event.preventDefault();
  const result = $("publish-result");
  const button = $("publish-button");
  result.className = "result";
  result.textContent = "Publishing…";
  button.disabled = true;
  try {
    const body = {
      topic: $("publish-topic").value,
      payload: $("publish-payload").value,
      qos: Number($("publish-qos").value),
      retain: $("publish-retain").checked,
    };
    const answer = await api("publish", { method: "POST", body: body });
    result.className = "result ok";
    result.textContent = "Published " + fmtBytes(answer.size) + " to " + answer.topic + (answer.retain ? " (retained)" : "");
  } catch (err) {
    result.className = "result err";
    result.textContent = err.message;
  } finally {
    button.disabled = false;
  }
}

// ---- navigation and start -----------------------------------------------------------------------------

function showTab(name) {
  const tabs = ["overview", "clients", "subscriptions", "retained", "publish"];
  if (!tabs.includes(name)) name = "overview";
  state.tab = name;
  for (const t of tabs) $("panel-" + t).hidden = t !== name;
  for (const a of document.querySelectorAll(".tabs a")) {
    if (a.dataset.tab === name) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  if (name === "overview") drawCharts();
  if (name === "clients") loadClients();
  if (name === "subscriptions") loadSubscriptions();
  if (name === "retained") loadRetained();
}

function debounce(fn, ms) {
  let timer = 0;
  return () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
}

function start() {
  window.addEventListener("hashchange", () => showTab(location.hash.slice(1)));
  window.addEventListener("resize", debounce(drawCharts, 100));
  $("clients-search").addEventListener("input", debounce(() => {
    state.clients.q = $("clients-search").value.trim();
    state.clients.offset = 0;
    loadClients();
  }, 200));
  $("subs-search").addEventListener("input", debounce(() => {
    state.subs.q = $("subs-search").value.trim();
    state.subs.offset = 0;
    loadSubscriptions();
  }, 200));
  $("retained-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.retained.filter = $("retained-filter").value.trim() || "#";
    state.retained.offset = 0;
    loadRetained();
  });
  $("publish-form").addEventListener("submit", publish);
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("signin-token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, state.token);
    $("signin-dialog").close();
    connectEvents();
    showTab(state.tab);
  });
  showTab(location.hash.slice(1));
  connectEvents();
}

start();
`;
