/**
 * Part of the dashboard's script: state, formatting, DOM helpers and the API client.
 * page_script.ts joins the parts inside one function.
 * Plain browser JavaScript inside `String.raw`: no backtick and no dollar-brace sequence in it.
 * @module
 */

/** Browser code: state, formatting, DOM helpers and the API client. */
export const SCRIPT_BASE: string = String.raw`"use strict";

const PAGE_SIZE = 50;
const HISTORY = 120;
const TOKEN_KEY = "comqtt.dashboard.token";
const $ = (id) => document.getElementById(id);

const state = {
  tab: "overview",
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  samples: [],
  intervalMs: 1000,
  changes: null,
  lastMessages: -1,
  clients: { q: "", offset: 0, busy: false },
  subs: { q: "", offset: 0, busy: false },
  retained: { filter: "#", offset: 0, busy: false },
  events: null,
  maxQoS: 2,
};

// ---- formatting ---------------------------------------------------------------------------------------

function fmtCount(n) {
  if (n >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return String(Math.round(n));
}
function fmtRate(n) {
  if (n === 0) return "0";
  if (n < 10) return n.toFixed(1);
  return fmtCount(n);
}
function fmtBytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 1 : 0)) + " " + units[i];
}
function fmtDuration(seconds) {
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds / 3600) % 24;
  const m = Math.floor(seconds / 60) % 60, s = Math.floor(seconds % 60);
  if (d > 0) return d + "d " + h + "h";
  if (h > 0) return h + "h " + m + "m";
  if (m > 0) return m + "m " + s + "s";
  return s + "s";
}
function fmtSince(iso) {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return fmtDuration(seconds) + " ago";
}
function protocolName(v) {
  return v === 5 ? "5.0" : v === 4 ? "3.1.1" : v === 3 ? "3.1" : String(v);
}

// ---- DOM helpers --------------------------------------------------------------------------------------

function el(tag, props, children) {
  const node = document.createElement(tag);
  if (props) {
    for (const key of Object.keys(props)) {
      const value = props[key];
      if (value === undefined || value === null) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key === "data") for (const d of Object.keys(value)) node.dataset[d] = value[d];
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
  }
  for (const child of children || []) if (child !== null && child !== undefined) node.append(child);
  return node;
}
function cell(label, content, cls) {
  const td = el("td", { class: cls, data: { label: label } });
  if (content instanceof Node) td.append(content); else td.textContent = content;
  return td;
}
function setText(id, text) {
  const node = $(id);
  if (node && node.textContent !== text) node.textContent = text;
}
function toast(message, isError) {
  const node = el("div", { class: isError ? "toast err" : "toast", text: message });
  $("toasts").append(node);
  setTimeout(() => node.remove(), 4000);
}

/**
 * A button that asks for a second click before it acts. Tables are redrawn by live updates, so the "armed"
 * state is kept by key (not on the element) and survives a redraw between the two clicks.
 */
const armed = new Map();
const ARM_MS = 4000;
function confirmButton(label, key, action, extraClass) {
  const button = el("button", { type: "button", class: "btn small danger " + (extraClass || ""), text: label });
  const show = () => {
    const on = (armed.get(key) || 0) > Date.now();
    button.classList.toggle("armed", on);
    button.textContent = on ? "Confirm" : label;
  };
  show();
  if (armed.has(key)) setTimeout(show, Math.max(0, armed.get(key) - Date.now()) + 10);
  button.addEventListener("click", async (event) => {
    event.stopPropagation();
    if ((armed.get(key) || 0) <= Date.now()) {
      armed.set(key, Date.now() + ARM_MS);
      show();
      setTimeout(show, ARM_MS + 10);
      return;
    }
    armed.delete(key);
    button.disabled = true;
    try { await action(); } catch (err) { toast(err.message, true); }
    button.disabled = false;
    show();
  });
  return button;
}

// ---- API ----------------------------------------------------------------------------------------------

function authHeaders(extra) {
  const headers = Object.assign({}, extra);
  if (state.token) headers.Authorization = "Bearer " + state.token;
  return headers;
}

async function api(path, options) {
  const opts = options || {};
  const hasBody = opts.body !== undefined;
  const res = await fetch("api/v1/" + path, {
    method: opts.method || "GET",
    headers: authHeaders(hasBody ? { "Content-Type": "application/json" } : {}),
    body: hasBody ? JSON.stringify(opts.body) : undefined,
    cache: "no-store",
  });
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  if (res.status === 401) signIn(data);
  if (!res.ok) throw new Error((data && data.message) || ("Request failed with HTTP " + res.status));
  return data;
}

function signIn(body) {
  const methods = (body && body.auth) || [];
  if (!methods.includes("bearer")) return; // basic auth: the browser asks by itself
  const dialog = $("signin-dialog");
  setText("signin-result", state.token ? "That token was refused." : "");
  if (!dialog.open) dialog.showModal();
}

`;
