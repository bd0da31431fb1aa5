/**
 * The dashboard's program (GET /dashboard/app.js, an ES module; format.js beside it). After
 * sign-in it keeps the admin token in sessionStorage, sends it as a bearer header, reads the live
 * snapshot stream (`/api/v1/events`) with fetch() streaming, computes per-connection throughput
 * from successive snapshots, and calls the API to issue and revoke tokens and kick connections.
 * Every element is built with textContent, never innerHTML, so no relay data can become markup.
 *
 * Browser JavaScript with JSDoc types, served exactly as written: browsers run no TypeScript, and
 * the relay has no transpiler it could use offline or inside `deno compile`'s binary (`deno bundle`
 * is experimental and fetches esbuild on first use). `deno task check` type-checks this file
 * strictly with the DOM lib (browser_check.jsonc), against the relay's own zod schemas.
 * @module
 */
import { ago, bytes, clock, ttlSeconds } from "./format.js";

/** @import { z } from "zod" */
/**
 * @import { AuditPage, IssuedTokenResponse, Problem } from "../api_schemas.ts"
 * @import { RevokeTokenResponse, Snapshot, TokenPage } from "../api_schemas.ts"
 */

/** @typedef {z.output<typeof TokenPage>} TokenList */
/** @typedef {z.output<typeof AuditPage>} AuditList */
/** @typedef {z.output<typeof IssuedTokenResponse>} Issued */
/** @typedef {z.output<typeof RevokeTokenResponse>} Revoked */
/** @typedef {{ at: number, bytesIn: number, bytesOut: number }} Counters */

const KEY = "ztna.adminToken";
/** How long a row button stays armed for its confirming second click. */
const ARMED_MS = 4_000;
const REVOKE_REASON = "revoked in the dashboard";

/** @type {string | null} */
let token = sessionStorage.getItem(KEY);
/** @type {AbortController | null} */
let stream = null;
/**
 * Byte counters of the previous snapshot by connection id, for throughput.
 * @type {Map<string, Counters>}
 */
let previous = new Map();
/** @type {ReturnType<typeof setInterval> | undefined} */
let refreshTimer;
/**
 * Armed row buttons by key, until when: rows are rebuilt every second, the arming stays.
 * @type {Map<string, number>}
 */
const armedUntil = new Map();

/**
 * The page's element `#id`, which must be a `kind`.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T, prototype: T }} kind
 * @returns {T}
 */
function byId(id, kind) {
  const node = document.getElementById(id);
  if (!(node instanceof kind)) throw new Error(`The page has no ${kind.name} #${id}`);
  return node;
}

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function $(id) {
  return byId(id, HTMLElement);
}

/**
 * The form's control `name` (an input or a select).
 * @param {HTMLFormElement} form
 * @param {string} name
 * @returns {HTMLInputElement | HTMLSelectElement}
 */
function field(form, name) {
  const control = form.elements.namedItem(name);
  if (control instanceof HTMLInputElement || control instanceof HTMLSelectElement) return control;
  throw new Error(`The form #${form.id} has no field ${name}`);
}

/**
 * @param {unknown} error
 * @returns {string}
 */
function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * An element with attributes (`text` sets its text, `className` its classes) and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string>} [attrs]
 * @param {Node[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k === "className") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.appendChild(c);
  return node;
}

/**
 * @param {string | number} text
 * @param {string} [className]
 */
function td(text, className = "") {
  return el("td", { text: String(text), className });
}

/** @param {string} text */
function pill(text) {
  return el("span", { text, className: `pill ${text}` });
}

/**
 * Puts `rows` in the table's body; shows the table's "empty" note instead when there are none.
 * @param {string} tableId
 * @param {HTMLTableRowElement[]} rows
 */
function fill(tableId, rows) {
  const table = $(tableId);
  const body = table.querySelector("tbody");
  if (body === null) throw new Error(`The table #${tableId} has no body`);
  body.replaceChildren(...rows);
  const empty = document.getElementById(`${tableId}-empty`);
  if (empty !== null) empty.hidden = rows.length > 0;
  table.hidden = rows.length === 0 && empty !== null;
}

/**
 * @param {string} text
 * @param {"on" | "off" | "wait"} kind
 */
function setStatus(text, kind) {
  const s = $("status");
  s.textContent = text;
  s.className = `pill ${kind}`;
}

/**
 * The JSON body of one of the relay's own answers, typed by the schema the relay answers with
 * (src/admin/api_schemas.ts). Not validated again here: the page has no zod, and every value
 * reaches the page as text only.
 * @template T
 * @param {Response} res
 * @returns {Promise<T>}
 */
function answer(res) {
  return res.json();
}

/**
 * Calls the admin API with the token; signs out on 401, throws the problem's detail otherwise.
 * @template T
 * @param {string} path
 * @param {{ method?: "GET" | "POST", body?: unknown }} [options]
 * @returns {Promise<T>}
 */
async function api(path, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { authorization: `Bearer ${token}` };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method: options.method ?? "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (res.status === 401) {
    signOut("The admin token was not accepted.");
    throw new Error("unauthenticated");
  }
  if (!res.ok) {
    /** @type {Problem | null} */
    const problem = await answer(res);
    throw new Error(problem?.detail || problem?.code || `HTTP ${res.status}`);
  }
  return answer(res);
}

/**
 * Revokes a token by id.
 * @param {string} tokenId
 * @returns {Promise<Revoked>}
 */
function revokeToken(tokenId) {
  return api("/api/v1/tokens/revoke", {
    method: "POST",
    body: { tokenId, reason: REVOKE_REASON },
  });
}

/** @param {Snapshot} snap */
function renderSnapshot(snap) {
  $("t-clients").textContent = String(snap.totals.clients);
  $("t-connectors").textContent = String(snap.totals.connectors);
  $("t-flows").textContent = String(snap.totals.activeFlows);
  $("t-services").textContent = String(snap.services.filter((s) => s.health === "up").length);
  $("t-refusals").textContent = String(snap.totals.refusals);
  /** @type {Map<string, Counters>} */
  const next = new Map();
  const now = Date.now();
  fill(
    "connections",
    snap.connections.map((c) => {
      const before = previous.get(c.connId);
      const seconds = before ? (snap.at - before.at) / 1000 : 0;
      const rateIn = before && seconds > 0
        ? Math.max(0, (c.bytesIn - before.bytesIn) / seconds)
        : 0;
      const rateOut = before && seconds > 0
        ? Math.max(0, (c.bytesOut - before.bytesOut) / seconds)
        : 0;
      next.set(c.connId, { at: snap.at, bytesIn: c.bytesIn, bytesOut: c.bytesOut });
      const actions = el("td", {}, [
        rowButton(
          "Kick",
          "Confirm kick",
          `kick:${c.connId}`,
          () => api(`/api/v1/connections/${c.connId}/kick`, { method: "POST" }),
        ),
      ]);
      const tokenId = c.tokenId;
      if (tokenId !== undefined) {
        // Offline-issued tokens are known to the relay only here, by the connections using them.
        actions.appendChild(
          rowButton(
            "Revoke token",
            "Confirm revoke",
            `revoke:${tokenId}`,
            () => revokeToken(tokenId),
          ),
        );
      }
      return el("tr", { "data-conn": c.connId }, [
        el("td", {}, [el("code", { text: c.connId })]),
        td(c.identity || "-"),
        el("td", {}, [pill(c.role)]),
        td(c.tokenId || "-", "mono"),
        td(c.remote, "mono"),
        td(c.services.join(", ") || "-"),
        td(`${bytes(rateIn)}/s`, "num"),
        td(`${bytes(rateOut)}/s`, "num"),
        td(bytes(c.bytesIn), "num"),
        td(bytes(c.bytesOut), "num"),
        el("td", { text: ago(c.since, now), title: clock(c.since) }),
        actions,
      ]);
    }),
  );
  previous = next;
  fill(
    "services",
    snap.services.map((s) =>
      el("tr", {}, [
        el("td", {}, [el("code", { text: s.service })]),
        el("td", {}, [pill(s.health)]),
        td(s.members.map((m) => `${m.identity} (${m.connId})`).join(", ") || "-"),
        td(s.members.reduce((n, m) => n + m.activeFlows, 0), "num"),
      ])
    ),
  );
  fill(
    "fleet",
    snap.fleet.map((r) =>
      el("tr", {}, [
        el("td", {}, [el("code", { text: r.self ? `${r.relayId} (this relay)` : r.relayId })]),
        td(r.addresses.map((a) => a.address).join(", ") || "not advertised", "mono"),
        el("td", {}, [pill(r.health)]),
        td(r.peers, "num"),
        td(r.flows, "num"),
        td(`${(r.heartbeatAgeMs / 1000).toFixed(1)} s ago`),
      ])
    ),
  );
  fill(
    "refusals",
    snap.refusals.map((r) =>
      el("tr", {}, [
        td(clock(r.at)),
        el("td", {}, [el("code", { text: r.code })]),
        td(r.identity || "-"),
        td(r.service || "-"),
        td(r.rule || "-"),
        td(r.connId || "-", "mono"),
      ])
    ),
  );
}

/**
 * A row's danger button whose arming (first click) is remembered under `key`, so it survives the
 * rebuild of its table every second.
 * @param {string} text
 * @param {string} armedText
 * @param {string} key
 * @param {() => Promise<unknown>} action
 * @returns {HTMLButtonElement}
 */
function rowButton(text, armedText, key, action) {
  const armed = (armedUntil.get(key) ?? 0) > Date.now();
  const button = el("button", {
    text: armed ? armedText : text,
    className: `small danger${armed ? " armed" : ""}`,
    type: "button",
  });
  button.addEventListener("click", () => {
    if ((armedUntil.get(key) ?? 0) > Date.now()) {
      armedUntil.delete(key);
      button.classList.add("armed");
    } else {
      armedUntil.set(key, Date.now() + ARMED_MS);
    }
    arm(button, armedText, action);
  });
  return button;
}

/**
 * First click arms the button for a few seconds; a click while armed runs `action`.
 * @param {HTMLButtonElement} button
 * @param {string} armedText
 * @param {() => Promise<unknown>} action
 */
function arm(button, armedText, action) {
  if (!button.classList.contains("armed")) {
    const original = button.textContent;
    button.classList.add("armed");
    button.textContent = armedText;
    setTimeout(() => {
      if (button.isConnected && button.classList.contains("armed")) {
        button.classList.remove("armed");
        button.textContent = original;
      }
    }, ARMED_MS);
    return;
  }
  button.disabled = true;
  action().then(() => refreshLists(), (e) => {
    $("tokens-error").textContent = messageOf(e);
    button.disabled = false;
  });
}

/** @param {TokenList} page */
function renderTokens(page) {
  fill(
    "tokens",
    page.items.map((t) => {
      const cell = el("td", {});
      if (t.status !== "revoked") {
        const revoke = el("button", { text: "Revoke", className: "small danger", type: "button" });
        revoke.addEventListener(
          "click",
          () => arm(revoke, "Confirm revoke", () => revokeToken(t.tokenId)),
        );
        cell.appendChild(revoke);
      }
      return el("tr", { "data-token": t.tokenId }, [
        el("td", {}, [el("code", { text: t.tokenId })]),
        td(t.subject),
        el("td", {}, [pill(t.role)]),
        td(t.services.join(", ")),
        td(clock(t.expiresAt)),
        el("td", {}, [pill(t.status)]),
        td(t.liveConnections, "num"),
        cell,
      ]);
    }),
  );
}

/** @param {AuditList} page */
function renderAudit(page) {
  fill(
    "audit",
    page.items.map((a) =>
      el("tr", {}, [
        td(clock(a.at)),
        td(a.actor),
        el("td", {}, [el("code", { text: a.action })]),
        td(a.target || "-", "mono"),
        el("td", {}, [pill(a.outcome)]),
        td([a.code, a.detail].filter(Boolean).join(": ") || "-"),
      ])
    ),
  );
}

/** @returns {Promise<TokenList>} */
function listTokens() {
  return api("/api/v1/tokens?limit=100");
}

/** @returns {Promise<AuditList>} */
function listAudit() {
  return api("/api/v1/audit?limit=30");
}

/** Reloads the token list and the audit log (the event stream carries neither). */
async function refreshLists() {
  if (!token) return;
  try {
    await Promise.all([listTokens().then(renderTokens), listAudit().then(renderAudit)]);
  } catch (e) {
    if (messageOf(e) !== "unauthenticated") $("tokens-error").textContent = messageOf(e);
  }
}

/**
 * Reads `/api/v1/events` until it ends or fails, rendering each snapshot; reconnects after 2 s
 * unless signed out meanwhile.
 */
async function readEvents() {
  if (!token) return;
  const controller = new AbortController();
  stream = controller;
  try {
    const res = await fetch("/api/v1/events", {
      headers: { authorization: `Bearer ${token}` },
      signal: controller.signal,
    });
    if (res.status === 401) {
      signOut("The admin token was not accepted.");
      return;
    }
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    setStatus("live", "on");
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    while (true) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error("stream ended");
      buffer += decoder.decode(chunk.value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        let data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        if (event === "snapshot" && data) renderSnapshot(JSON.parse(data));
      }
    }
  } catch {
    // Ended, refused or cut: retried below while this is still the stream of a signed-in tab.
    if (stream !== controller || !token) return;
    setStatus("reconnecting", "wait");
    setTimeout(() => {
      if (stream === controller && token) readEvents();
    }, 2_000);
  }
}

function showApp() {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("signout").hidden = false;
  void readEvents();
  void refreshLists();
  refreshTimer = setInterval(refreshLists, 5_000);
}

/** @param {string} message shown on the sign-in card */
function signOut(message) {
  token = null;
  sessionStorage.removeItem(KEY);
  stream?.abort();
  stream = null;
  clearInterval(refreshTimer);
  previous = new Map();
  $("app").hidden = true;
  $("signout").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  setStatus("signed out", "off");
}

/** @param {SubmitEvent} ev */
async function signIn(ev) {
  ev.preventDefault();
  const input = byId("token", HTMLInputElement);
  const candidate = input.value.trim();
  let res;
  try {
    res = await fetch("/api/v1/snapshot", { headers: { authorization: `Bearer ${candidate}` } });
  } catch {
    $("signin-error").textContent = "Cannot reach the relay.";
    return;
  }
  if (!res.ok) {
    $("signin-error").textContent = res.status === 401
      ? "That admin token is not accepted by this relay."
      : `The relay answered HTTP ${res.status}.`;
    return;
  }
  /** @type {Snapshot} */
  const snap = await answer(res);
  token = candidate;
  sessionStorage.setItem(KEY, token);
  input.value = "";
  $("signin-error").textContent = "";
  renderSnapshot(snap);
  showApp();
}

/** @param {SubmitEvent} ev */
async function issueToken(ev) {
  ev.preventDefault();
  const form = byId("issue-form", HTMLFormElement);
  const body = {
    subject: field(form, "subject").value.trim(),
    role: field(form, "role").value,
    services: field(form, "services").value.split(/[\s,]+/).filter(Boolean),
    ttlSeconds: ttlSeconds(field(form, "ttl").value),
  };
  $("tokens-error").textContent = "";
  try {
    /** @type {Issued} */
    const issued = await api("/api/v1/tokens", { method: "POST", body });
    $("issued-subject").textContent = `${issued.credential.subject} (${issued.credential.tokenId})`;
    byId("issued-token", HTMLTextAreaElement).value = issued.token;
    $("issued").hidden = false;
    field(form, "subject").value = "";
    void refreshLists();
  } catch (e) {
    $("tokens-error").textContent = messageOf(e);
  }
}

/** @param {SubmitEvent} ev */
async function revokeById(ev) {
  ev.preventDefault();
  const form = byId("revoke-form", HTMLFormElement);
  $("tokens-error").textContent = "";
  try {
    const r = await revokeToken(field(form, "tokenId").value.trim());
    $("tokens-error").textContent = r.alreadyRevoked
      ? `Token ${r.tokenId} was already revoked.`
      : `Revoked token ${r.tokenId}; closed ${r.closedConnections} connections.`;
    field(form, "tokenId").value = "";
    void refreshLists();
  } catch (e) {
    $("tokens-error").textContent = messageOf(e);
  }
}

// A module script runs once the page is parsed: every element above exists.
byId("signin-form", HTMLFormElement).addEventListener("submit", signIn);
$("signout").addEventListener("click", () => signOut(""));
$("issued-close").addEventListener("click", () => {
  $("issued").hidden = true;
  byId("issued-token", HTMLTextAreaElement).value = "";
});
byId("issue-form", HTMLFormElement).addEventListener("submit", issueToken);
byId("revoke-form", HTMLFormElement).addEventListener("submit", revokeById);
if (token) showApp();
