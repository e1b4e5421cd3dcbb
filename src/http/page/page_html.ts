/**
 * The dashboard page's HTML shell. It holds no data: the script fills it from the API and the event stream.
 * Every URL is relative, so the page also works behind a reverse proxy under a path prefix.
 * @module
 */

/** The page served at `/`. */
export const PAGE_HTML: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>comqtt-ts dashboard</title>
<link rel="icon" href="favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="assets/dashboard.css">
<script src="assets/dashboard.js" defer></script>
</head>
<body>
<header class="topbar">
  <div class="brand">
    <img src="favicon.svg" alt="" width="28" height="28">
    <div>
      <h1>comqtt-ts</h1>
      <p class="sub"><span id="broker-version">MQTT broker</span> <span id="broker-runtime" class="pill"></span></p>
    </div>
  </div>
  <div class="status" id="live-status" data-state="connecting" role="status" aria-live="polite">
    <span class="dot"></span><span id="live-text">Connecting</span>
  </div>
</header>

<nav class="tabs" aria-label="Sections">
  <a href="#overview" data-tab="overview">Overview</a>
  <a href="#clients" data-tab="clients">Clients <span class="count" id="tab-clients">0</span></a>
  <a href="#subscriptions" data-tab="subscriptions"><span class="long">Subscriptions</span><span class="short">Subs</span> <span class="count" id="tab-subscriptions">0</span></a>
  <a href="#retained" data-tab="retained">Retained <span class="count" id="tab-retained">0</span></a>
  <a href="#publish" data-tab="publish">Publish</a>
</nav>

<main>
<section id="panel-overview" class="panel" data-panel="overview">
  <div class="cards">
    <div class="card accent"><div class="label">Clients connected</div><div class="value" id="stat-clients">0</div><div class="hint" id="stat-clients-hint">max 0</div></div>
    <div class="card"><div class="label">Messages in</div><div class="value" id="stat-msg-in">0</div><div class="hint">per second · <span id="stat-msg-in-total">0</span> total</div></div>
    <div class="card"><div class="label">Messages out</div><div class="value" id="stat-msg-out">0</div><div class="hint">per second · <span id="stat-msg-out-total">0</span> total</div></div>
    <div class="card"><div class="label">Throughput</div><div class="value" id="stat-bytes">0 B/s</div><div class="hint">in <span id="stat-bytes-in">0 B/s</span> · out <span id="stat-bytes-out">0 B/s</span></div></div>
    <div class="card"><div class="label">Subscriptions</div><div class="value" id="stat-subs">0</div><div class="hint"><span id="stat-sessions">0</span> sessions</div></div>
    <div class="card"><div class="label">Retained</div><div class="value" id="stat-retained">0</div><div class="hint">messages</div></div>
    <div class="card"><div class="label">In flight / queued</div><div class="value" id="stat-inflight">0 / 0</div><div class="hint">awaiting ack · queued</div></div>
    <div class="card"><div class="label">Dropped</div><div class="value" id="stat-dropped">0</div><div class="hint" id="stat-dropped-hint">no drops</div></div>
  </div>

  <div class="charts">
    <figure class="chart-box">
      <figcaption><span>Message rate</span><span class="legend"><i class="sw in"></i>in <i class="sw out"></i>out</span></figcaption>
      <canvas id="chart-messages" height="200" aria-label="Messages per second, in and out"></canvas>
    </figure>
    <figure class="chart-box">
      <figcaption><span>Connections</span><span class="legend"><i class="sw conn"></i>clients</span></figcaption>
      <canvas id="chart-connections" height="200" aria-label="Clients connected"></canvas>
    </figure>
  </div>

  <div class="split">
    <div class="box">
      <h2>Listeners</h2>
      <table class="table compact" id="listeners-table">
        <thead><tr><th>Id</th><th>Protocol</th><th>Address</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <div class="box">
      <h2>Broker</h2>
      <dl class="facts">
        <dt>Uptime</dt><dd id="fact-uptime">–</dd>
        <dt>Started</dt><dd id="fact-started">–</dd>
        <dt>Connections accepted</dt><dd id="fact-connections">0</dd>
        <dt>Refused at CONNECT</dt><dd id="fact-refused">0</dd>
        <dt>Protocol errors</dt><dd id="fact-errors">0</dd>
        <dt>Maximum QoS</dt><dd id="fact-qos">2</dd>
        <dt>Cluster</dt><dd id="fact-cluster">–</dd>
      </dl>
    </div>
  </div>

  <div class="box" id="auth-box" hidden>
    <h2>Auth backends</h2>
    <table class="table compact" id="auth-table">
      <thead><tr><th>Backend</th><th>Calls</th><th>Errors</th><th>Cache hits</th><th>Misses</th><th>Mean latency</th></tr></thead>
      <tbody></tbody>
    </table>
  <div class="split" id="extensions" hidden>
    <div class="box" id="bridges-box">
      <h2>Bridges</h2>
      <table class="table compact" id="bridges-table">
        <thead><tr><th>Name</th><th>Remote</th><th>State</th><th>Queued</th><th>Out / in</th><th>Dropped</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <div class="box" id="rules-box">
      <h2>Rules</h2>
      <table class="table compact" id="rules-table">
        <thead><tr><th>Id</th><th>Matched</th><th>Passed</th><th>Failed</th><th>Actions ok / failed</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </div>
</section>

<section id="panel-clients" class="panel" data-panel="clients" hidden>
  <div class="toolbar">
    <input type="search" id="clients-search" placeholder="Search client id or username" aria-label="Search clients" autocomplete="off">
    <span class="meta" id="clients-meta"></span>
  </div>
  <div class="table-wrap">
    <table class="table" id="clients-table">
      <thead><tr>
        <th>Client id</th><th id="clients-node" hidden>Node</th><th>Username</th><th>Address</th><th>MQTT</th><th>Keep-alive</th><th>Connected</th>
        <th class="num">Subs</th><th class="num">Inflight</th><th class="num">Queued</th><th class="num">Msgs in</th><th class="num">Rate</th><th></th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <p class="empty" id="clients-empty" hidden>No client is connected.</p>
  </div>
  <div class="pager" id="clients-pager"></div>
</section>

<section id="panel-subscriptions" class="panel" data-panel="subscriptions" hidden>
  <div class="toolbar">
    <input type="search" id="subs-search" placeholder="Filter contains…" aria-label="Search subscriptions" autocomplete="off">
    <span class="meta" id="subs-meta"></span>
  </div>
  <div class="table-wrap">
    <table class="table" id="subs-table">
      <thead><tr><th>Filter</th><th>Client id</th><th class="num">QoS</th><th>Options</th></tr></thead>
      <tbody></tbody>
    </table>
    <p class="empty" id="subs-empty" hidden>No subscription.</p>
  </div>
  <div class="pager" id="subs-pager"></div>
</section>

<section id="panel-retained" class="panel" data-panel="retained" hidden>
  <form class="toolbar" id="retained-form">
    <input type="text" id="retained-filter" value="#" placeholder="Topic filter, e.g. sensors/+/temp" aria-label="Topic filter" autocomplete="off" spellcheck="false">
    <button type="submit" class="btn">Show</button>
    <span class="meta" id="retained-meta"></span>
  </form>
  <div class="table-wrap">
    <table class="table" id="retained-table">
      <thead><tr><th>Topic</th><th>Payload</th><th class="num">QoS</th><th class="num">Size</th><th>Received</th><th></th></tr></thead>
      <tbody></tbody>
    </table>
    <p class="empty" id="retained-empty" hidden>No retained message matches.</p>
  </div>
  <div class="pager" id="retained-pager"></div>
</section>

<section id="panel-publish" class="panel" data-panel="publish" hidden>
  <form class="box publish" id="publish-form">
    <h2>Publish a test message</h2>
    <label>Topic<input type="text" id="publish-topic" required placeholder="test/hello" autocomplete="off" spellcheck="false"></label>
    <label>Payload<textarea id="publish-payload" rows="5" placeholder="Hello from the dashboard"></textarea></label>
    <div class="row">
      <label>QoS<select id="publish-qos"><option value="0">0 · at most once</option><option value="1">1 · at least once</option><option value="2">2 · exactly once</option></select></label>
      <label class="check"><input type="checkbox" id="publish-retain"> Retain</label>
    </div>
    <div class="row">
      <button type="submit" class="btn primary" id="publish-button">Publish</button>
      <span class="result" id="publish-result" role="status"></span>
    </div>
  </form>
</section>
</main>

<dialog id="detail-dialog">
  <form method="dialog" class="dialog-head"><h2 id="detail-title">Client</h2><button class="icon" aria-label="Close">×</button></form>
  <div id="detail-body"></div>
</dialog>

<dialog id="signin-dialog">
  <form id="signin-form" class="signin">
    <h2>Sign in</h2>
    <p>This dashboard needs the token from the broker's <code>http.auth</code> config.</p>
    <label>Token<input type="password" id="signin-token" autocomplete="current-password" required></label>
    <div class="row"><button type="submit" class="btn primary">Sign in</button><span class="result" id="signin-result"></span></div>
  </form>
</dialog>

<div id="toasts" aria-live="polite"></div>
</body>
</html>
`;
