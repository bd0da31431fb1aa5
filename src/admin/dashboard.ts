/**
 * The admin dashboard: one HTML page, its stylesheet and its script, served as static strings by
 * the admin endpoint (no CDN, no build step, works offline). The page holds no data: after sign-in
 * it keeps the admin token in sessionStorage, sends it as a bearer header, reads the live snapshot
 * stream (`/api/v1/events`) with fetch() streaming, computes per-connection throughput from
 * successive snapshots, and calls the API to issue and revoke tokens and kick connections.
 * Served with a Content-Security-Policy that allows only these same-origin files; the script
 * builds every element with textContent, never innerHTML, so no relay data can become markup.
 * The script is plain JavaScript for today's browsers, kept in a String.raw literal: it must not
 * contain backticks or dollar-brace sequences.
 * @module
 */

/** `GET /dashboard`. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ztna relay admin</title>
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header class="top">
  <h1>ztna <span>relay admin</span></h1>
  <span id="status" class="pill off">signed out</span>
  <span class="spacer"></span>
  <button id="signout" class="ghost" hidden>Sign out</button>
</header>
<main>
  <section id="signin" class="card signin">
    <h2>Sign in</h2>
    <p class="muted">Paste an admin token. It is kept in this browser tab only (sessionStorage)
      and sent as a bearer header.</p>
    <form id="signin-form">
      <label for="token">Admin token</label>
      <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required>
      <button type="submit">Sign in</button>
      <p id="signin-error" class="error" role="alert"></p>
    </form>
  </section>

  <div id="app" hidden>
    <section class="totals" aria-label="Totals">
      <div class="stat"><b id="t-clients">0</b><span>clients</span></div>
      <div class="stat"><b id="t-connectors">0</b><span>connectors</span></div>
      <div class="stat"><b id="t-flows">0</b><span>active flows</span></div>
      <div class="stat"><b id="t-services">0</b><span>services up</span></div>
      <div class="stat"><b id="t-refusals">0</b><span>refusals since start</span></div>
    </section>

    <section class="card">
      <h2>Connections</h2>
      <table id="connections">
        <thead><tr><th>Conn</th><th>Identity</th><th>Role</th><th>Token id</th><th>Remote</th>
          <th>Services</th><th class="num">In/s</th><th class="num">Out/s</th><th class="num">In</th>
          <th class="num">Out</th><th>Connected</th><th></th></tr></thead>
        <tbody></tbody>
      </table>
      <p class="empty" id="connections-empty">No connections.</p>
    </section>

    <div class="grid">
      <section class="card">
        <h2>Services</h2>
        <table id="services">
          <thead><tr><th>Service</th><th>Health</th><th>Connectors</th><th class="num">Flows</th></tr></thead>
          <tbody></tbody>
        </table>
        <p class="empty" id="services-empty">No services registered.</p>
      </section>
      <section class="card">
        <h2>Recent refusals</h2>
        <table id="refusals">
          <thead><tr><th>Time</th><th>Reason</th><th>Identity</th><th>Service</th><th>Conn</th></tr></thead>
          <tbody></tbody>
        </table>
        <p class="empty" id="refusals-empty">Nothing refused.</p>
      </section>
    </div>

    <section class="card">
      <h2>Tokens</h2>
      <form id="issue-form" class="issue">
        <label>Subject <input name="subject" required maxlength="128" placeholder="alice"></label>
        <label>Role <select name="role"><option>client</option><option>connector</option></select></label>
        <label>Services <input name="services" required placeholder="web, db"></label>
        <label>Lifetime <input name="ttl" value="7d" required pattern="[0-9]+[smhd]" size="6"></label>
        <button type="submit">Issue token</button>
      </form>
      <p id="tokens-error" class="error" role="alert"></p>
      <div id="issued" class="issued" hidden>
        <p>New token for <b id="issued-subject"></b>, shown only now: copy it to the peer.</p>
        <textarea id="issued-token" readonly rows="3"></textarea>
        <button id="issued-close" class="ghost" type="button">Done</button>
      </div>
      <table id="tokens">
        <thead><tr><th>Token id</th><th>Subject</th><th>Role</th><th>Services</th><th>Expires</th>
          <th>Status</th><th class="num">Live</th><th></th></tr></thead>
        <tbody></tbody>
      </table>
      <p class="empty" id="tokens-empty">No tokens issued through this relay yet.</p>
      <p class="note">Tokens issued offline (<code>ztna admin token issue</code>) are not listed
        here: find them by token id under Connections and revoke them there, or by id below.</p>
      <form id="revoke-form" class="issue">
        <label>Token id <input name="tokenId" required pattern="[A-Za-z0-9_-]{16,64}" size="24"></label>
        <button type="submit" class="danger">Revoke by id</button>
      </form>
    </section>

    <section class="card">
      <h2>Audit log</h2>
      <table id="audit">
        <thead><tr><th>Time</th><th>Actor</th><th>Action</th><th>Target</th><th>Outcome</th><th>Detail</th></tr></thead>
        <tbody></tbody>
      </table>
    </section>
  </div>
</main>
</body>
</html>
`;

/** `GET /dashboard/app.css`. */
export const DASHBOARD_CSS = `:root {
  --bg: #f4f5f7; --card: #fff; --ink: #1d2330; --muted: #687086; --line: #e3e6ec;
  --accent: #2f5bd3; --ok: #17804a; --warn: #b26a00; --bad: #c0392b;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); }
header.top { display: flex; align-items: center; gap: 12px; padding: 10px 24px;
  background: #1d2330; color: #fff; }
header.top h1 { margin: 0; font-size: 18px; letter-spacing: .2px; }
header.top h1 span { font-weight: 400; opacity: .7; }
.spacer { flex: 1; }
main { max-width: 1280px; margin: 0 auto; padding: 18px 24px 40px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 14px 18px; margin-bottom: 16px; box-shadow: 0 1px 2px rgba(20,30,60,.04); }
.card h2 { margin: 0 0 10px; font-size: 15px; }
.signin { max-width: 460px; margin: 60px auto; }
.signin label { display: block; font-weight: 600; margin: 10px 0 4px; }
.signin input { width: 100%; }
.muted { color: var(--muted); }
input, select, textarea { font: inherit; padding: 6px 8px; border: 1px solid #c9ced8;
  border-radius: 6px; background: #fff; }
textarea { width: 100%; font-family: ui-monospace, Menlo, monospace; font-size: 12px; }
button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; cursor: pointer; }
button:hover { filter: brightness(1.08); }
button.ghost { background: transparent; color: inherit; border-color: currentColor; }
button.small { padding: 2px 8px; font-size: 12px; }
button.danger { background: #fff; color: var(--bad); border-color: var(--bad); }
button.danger.armed { background: var(--bad); color: #fff; }
.signin button { margin-top: 12px; }
.error { color: var(--bad); min-height: 1em; margin: 6px 0 0; }
.pill { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px;
  background: #e9edf5; color: var(--ink); }
header .pill.on { background: #1f7a4b; color: #fff; }
header .pill.off { background: #50596b; color: #fff; }
header .pill.wait { background: #9a6400; color: #fff; }
.pill.up, .pill.active, .pill.ok { background: #dff3e7; color: var(--ok); }
.pill.down, .pill.revoked, .pill.refused { background: #fbe3e0; color: var(--bad); }
.pill.expired, .pill.pending { background: #fdf0d9; color: var(--warn); }
.totals { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin-bottom: 16px; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 10px 14px; }
.stat b { display: block; font-size: 24px; font-variant-numeric: tabular-nums; }
.stat span { color: var(--muted); font-size: 12px; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.grid .card { margin-bottom: 16px; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 600;
  border-bottom: 1px solid var(--line); padding: 4px 6px; }
td { border-bottom: 1px solid #f0f1f4; padding: 5px 6px; vertical-align: middle; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td code, .mono { font-family: ui-monospace, Menlo, monospace; font-size: 12px; }
.empty { color: var(--muted); margin: 8px 0 2px; }
form.issue { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; margin-bottom: 6px; }
form.issue label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
.issued { border: 1px dashed var(--accent); border-radius: 8px; padding: 8px 12px; margin: 8px 0;
  background: #f3f6fd; }
@media (max-width: 900px) {
  .grid { grid-template-columns: 1fr; }
  .totals { grid-template-columns: repeat(2, 1fr); }
  main { padding: 12px; }
}
`;

/** `GET /dashboard/app.js`. */
export const DASHBOARD_JS = String.raw`"use strict";
(function () {
  var KEY = "ztna.adminToken";
  var token = sessionStorage.getItem(KEY);
  var stream = null;
  var previous = new Map();
  var refreshTimer = null;
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") node.textContent = attrs[k];
        else if (k === "className") node.className = attrs[k];
        else node.setAttribute(k, attrs[k]);
      });
    }
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function td(text, className) { return el("td", { text: String(text), className: className || "" }); }
  function pill(text) { return el("span", { text: text, className: "pill " + text }); }
  function bytes(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n = n / 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(1)) + " " + units[i];
  }
  function two(n) { return (n < 10 ? "0" : "") + n; }
  /** Local date and time with the UTC offset, so a time is never ambiguous. */
  function clock(ms) {
    var d = new Date(ms);
    var off = -d.getTimezoneOffset();
    var sign = off < 0 ? "-" : "+";
    off = Math.abs(off);
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " +
      two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds()) +
      " UTC" + sign + two(Math.floor(off / 60)) + ":" + two(off % 60);
  }
  function ago(ms) {
    var s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }
  function fill(tableId, rows) {
    var body = $(tableId).querySelector("tbody");
    body.replaceChildren.apply(body, rows);
    var empty = $(tableId + "-empty");
    if (empty) empty.hidden = rows.length > 0;
    $(tableId).hidden = rows.length === 0 && !!empty;
  }
  function setStatus(text, kind) {
    var s = $("status");
    s.textContent = text;
    s.className = "pill " + kind;
  }

  function api(path, options) {
    options = options || {};
    var headers = { authorization: "Bearer " + token };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    return fetch(path, {
      method: options.method || "GET",
      headers: headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    }).then(function (res) {
      if (res.status === 401) {
        signOut("The admin token was not accepted.");
        throw new Error("unauthenticated");
      }
      return res.json().then(function (data) {
        if (!res.ok) throw new Error((data && (data.detail || data.code)) || ("HTTP " + res.status));
        return data;
      });
    });
  }

  function renderSnapshot(snap) {
    $("t-clients").textContent = snap.totals.clients;
    $("t-connectors").textContent = snap.totals.connectors;
    $("t-flows").textContent = snap.totals.activeFlows;
    $("t-services").textContent = snap.services.filter(function (s) { return s.health === "up"; }).length;
    $("t-refusals").textContent = snap.totals.refusals;
    var next = new Map();
    fill("connections", snap.connections.map(function (c) {
      var before = previous.get(c.connId);
      var seconds = before ? (snap.at - before.at) / 1000 : 0;
      var rateIn = before && seconds > 0 ? Math.max(0, (c.bytesIn - before.bytesIn) / seconds) : 0;
      var rateOut = before && seconds > 0 ? Math.max(0, (c.bytesOut - before.bytesOut) / seconds) : 0;
      next.set(c.connId, { at: snap.at, bytesIn: c.bytesIn, bytesOut: c.bytesOut });
      var actions = el("td", {}, [rowButton("Kick", "Confirm kick", "kick:" + c.connId, function () {
        return api("/api/v1/connections/" + c.connId + "/kick", { method: "POST" });
      })]);
      if (c.tokenId) {
        // Offline-issued tokens are known to the relay only here, by the connections using them.
        actions.appendChild(rowButton("Revoke token", "Confirm revoke", "revoke:" + c.tokenId, function () {
          return api("/api/v1/tokens/revoke", { method: "POST", body: { tokenId: c.tokenId, reason: "revoked in the dashboard" } });
        }));
      }
      var row = el("tr", { "data-conn": c.connId }, [
        el("td", {}, [el("code", { text: c.connId })]), td(c.identity || "-"),
        el("td", {}, [pill(c.role)]), td(c.tokenId || "-", "mono"), td(c.remote, "mono"),
        td(c.services.join(", ") || "-"),
        td(bytes(rateIn) + "/s", "num"), td(bytes(rateOut) + "/s", "num"),
        td(bytes(c.bytesIn), "num"), td(bytes(c.bytesOut), "num"),
        el("td", { text: ago(c.since), title: clock(c.since) }),
        actions,
      ]);
      return row;
    }));
    previous = next;
    fill("services", snap.services.map(function (s) {
      return el("tr", {}, [
        el("td", {}, [el("code", { text: s.service })]), el("td", {}, [pill(s.health)]),
        td(s.members.map(function (m) { return m.identity + " (" + m.connId + ")"; }).join(", ") || "-"),
        td(s.members.reduce(function (n, m) { return n + m.activeFlows; }, 0), "num"),
      ]);
    }));
    fill("refusals", snap.refusals.map(function (r) {
      return el("tr", {}, [
        td(clock(r.at)), el("td", {}, [el("code", { text: r.code })]), td(r.identity || "-"),
        td(r.service || "-"), td(r.connId || "-", "mono"),
      ]);
    }));
  }

  /** Armed row buttons by key, until when: rows are rebuilt every second, the arming stays. */
  var armedUntil = new Map();
  function rowButton(text, armedText, key, action) {
    var armed = (armedUntil.get(key) || 0) > Date.now();
    var button = el("button", { text: armed ? armedText : text, className: "small danger" + (armed ? " armed" : ""), type: "button" });
    button.addEventListener("click", function () {
      if ((armedUntil.get(key) || 0) > Date.now()) {
        armedUntil.delete(key);
        button.classList.add("armed");
      } else {
        armedUntil.set(key, Date.now() + 4000);
      }
      arm(button, armedText, action);
    });
    return button;
  }

  function arm(button, armedText, action) {
    if (!button.classList.contains("armed")) {
      var original = button.textContent;
      button.classList.add("armed");
      button.textContent = armedText;
      setTimeout(function () {
        if (button.isConnected && button.classList.contains("armed")) {
          button.classList.remove("armed");
          button.textContent = original;
        }
      }, 4000);
      return;
    }
    button.disabled = true;
    action().then(function () { refreshLists(); }, function (e) {
      $("tokens-error").textContent = e.message;
      button.disabled = false;
    });
  }

  function renderTokens(page) {
    fill("tokens", page.items.map(function (t) {
      var cell = el("td", {});
      if (t.status !== "revoked") {
        var revoke = el("button", { text: "Revoke", className: "small danger", type: "button" });
        revoke.addEventListener("click", function () { arm(revoke, "Confirm revoke", function () {
          return api("/api/v1/tokens/revoke", { method: "POST", body: { tokenId: t.tokenId, reason: "revoked in the dashboard" } });
        }); });
        cell.appendChild(revoke);
      }
      return el("tr", { "data-token": t.tokenId }, [
        el("td", {}, [el("code", { text: t.tokenId })]), td(t.subject), el("td", {}, [pill(t.role)]),
        td(t.services.join(", ")), td(clock(t.expiresAt)),
        el("td", {}, [pill(t.status)]), td(t.liveConnections, "num"), cell,
      ]);
    }));
  }

  function renderAudit(page) {
    fill("audit", page.items.map(function (a) {
      return el("tr", {}, [
        td(clock(a.at)), td(a.actor), el("td", {}, [el("code", { text: a.action })]),
        td(a.target || "-", "mono"), el("td", {}, [pill(a.outcome)]),
        td([a.code, a.detail].filter(Boolean).join(": ") || "-"),
      ]);
    }));
  }

  function refreshLists() {
    if (!token) return Promise.resolve();
    return Promise.all([
      api("/api/v1/tokens?limit=100").then(renderTokens),
      api("/api/v1/audit?limit=30").then(renderAudit),
    ]).catch(function (e) { if (e.message !== "unauthenticated") $("tokens-error").textContent = e.message; });
  }

  function readEvents() {
    if (!token) return;
    var controller = new AbortController();
    stream = controller;
    fetch("/api/v1/events", { headers: { authorization: "Bearer " + token }, signal: controller.signal })
      .then(function (res) {
        if (res.status === 401) { signOut("The admin token was not accepted."); return; }
        if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
        setStatus("live", "on");
        var reader = res.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) throw new Error("stream ended");
            buffer += decoder.decode(chunk.value, { stream: true });
            var end;
            while ((end = buffer.indexOf("\n\n")) >= 0) {
              var block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              var event = "message";
              var data = "";
              block.split("\n").forEach(function (line) {
                if (line.indexOf("event: ") === 0) event = line.slice(7);
                else if (line.indexOf("data: ") === 0) data += line.slice(6);
              });
              if (event === "snapshot" && data) renderSnapshot(JSON.parse(data));
            }
            return pump();
          });
        }
        return pump();
      })
      .catch(function () {
        if (stream !== controller || !token) return;
        setStatus("reconnecting", "wait");
        setTimeout(function () { if (stream === controller && token) readEvents(); }, 2000);
      });
  }

  function showApp() {
    $("signin").hidden = true;
    $("app").hidden = false;
    $("signout").hidden = false;
    readEvents();
    refreshLists();
    refreshTimer = setInterval(refreshLists, 5000);
  }

  function signOut(message) {
    token = null;
    sessionStorage.removeItem(KEY);
    if (stream) stream.abort();
    stream = null;
    clearInterval(refreshTimer);
    previous = new Map();
    $("app").hidden = true;
    $("signout").hidden = true;
    $("signin").hidden = false;
    $("signin-error").textContent = message || "";
    setStatus("signed out", "off");
  }

  function ttlSeconds(text) {
    var m = /^(\d+)([smhd])$/.exec(text.trim());
    if (!m) return NaN;
    return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2]];
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("signin-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var candidate = $("token").value.trim();
      fetch("/api/v1/snapshot", { headers: { authorization: "Bearer " + candidate } })
        .then(function (res) {
          if (!res.ok) {
            $("signin-error").textContent = res.status === 401
              ? "That admin token is not accepted by this relay."
              : "The relay answered HTTP " + res.status + ".";
            return;
          }
          return res.json().then(function (snap) {
            token = candidate;
            sessionStorage.setItem(KEY, token);
            $("token").value = "";
            $("signin-error").textContent = "";
            renderSnapshot(snap);
            showApp();
          });
        }, function () { $("signin-error").textContent = "Cannot reach the relay."; });
    });
    $("signout").addEventListener("click", function () { signOut(""); });
    $("issued-close").addEventListener("click", function () {
      $("issued").hidden = true;
      $("issued-token").value = "";
    });
    $("issue-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var form = ev.target;
      var services = form.services.value.split(/[\s,]+/).filter(Boolean);
      var body = { subject: form.subject.value.trim(), role: form.role.value, services: services,
        ttlSeconds: ttlSeconds(form.ttl.value) };
      $("tokens-error").textContent = "";
      api("/api/v1/tokens", { method: "POST", body: body }).then(function (issued) {
        $("issued-subject").textContent = issued.credential.subject + " (" + issued.credential.tokenId + ")";
        $("issued-token").value = issued.token;
        $("issued").hidden = false;
        form.subject.value = "";
        refreshLists();
      }, function (e) { $("tokens-error").textContent = e.message; });
    });
    $("revoke-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var form = ev.target;
      var body = { tokenId: form.tokenId.value.trim(), reason: "revoked in the dashboard" };
      $("tokens-error").textContent = "";
      api("/api/v1/tokens/revoke", { method: "POST", body: body }).then(function (r) {
        $("tokens-error").textContent = r.alreadyRevoked
          ? "Token " + r.tokenId + " was already revoked."
          : "Revoked token " + r.tokenId + "; closed " + r.closedConnections + " connections.";
        form.tokenId.value = "";
        refreshLists();
      }, function (e) { $("tokens-error").textContent = e.message; });
    });
    if (token) showApp();
  });
})();
`;
