// afpool web page, core: the API client, the shared state (pools, renders, the host index),
// messages, tabs, the token field and live updates over server-sent events.
'use strict';

const $ = (id) => document.getElementById(id);
const ROW_LIMIT = 200;

const app = {
  pools: [],          // [{name, hosts}] as GET /api/v1/pools
  renders: [],        // GET /api/v1/hosts .renders: [{name, state, online, busy, nimby, af_pool, pools}]
  unknown: [],        // GET /api/v1/hosts .unknown_members: [{host, pools}]
  byHost: new Map(),  // lower-case host name → render
  poolsOf: new Map(), // lower-case host name → names of its pools
  loaded: false,
  views: {},          // tab name → {render(), show()}
};

/** Natural order of names, the CLI's rule (src/natural.rs): runs of digits compare as numbers
 *  (pool2 before pool10), other characters one by one; names equal as numbers (render01,
 *  render1) in plain order. */
function naturalCompare(a, b) {
  const digit = (s, k) => { const c = s.charCodeAt(k); return c >= 48 && c <= 57; };
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    if (digit(a, i) && digit(b, j)) {
      let ei = i, ej = j;
      while (ei < a.length && digit(a, ei)) ei++;
      while (ej < b.length && digit(b, ej)) ej++;
      const x = a.slice(i, ei).replace(/^0+/, ''), y = b.slice(j, ej).replace(/^0+/, '');
      if (x.length !== y.length) return x.length < y.length ? -1 : 1;
      if (x !== y) return x < y ? -1 : 1;
      i = ei; j = ej;
    } else {
      if (a[i] !== b[j]) return a.charCodeAt(i) < b.charCodeAt(j) ? -1 : 1;
      i++; j++;
    }
  }
  const ra = a.length - i, rb = b.length - j;
  if (ra !== rb) return ra < rb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An error answer of the API: its text, kind and refused names. */
class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : 'HTTP ' + status);
    this.status = status;
    this.kind = body && body.kind;
    this.invalid = (body && body.invalid) || [];
  }
}

/** Calls the API; JSON in and out; throws ApiError on a non-2xx answer. */
async function api(method, path, body, raw) {
  const headers = {};
  const token = sessionStorage.getItem('afpool.token');
  if (token) headers.Authorization = 'Bearer ' + token;
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = raw ? body : JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { error: 'afpool did not answer: ' + e.message, kind: 'network' });
  }
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { json = { error: text }; }
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

/** Shows a message in the status line; `error` styles it as an error. */
function say(text, kind) {
  const box = $('message');
  box.textContent = text;
  box.className = kind || '';
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
}

/** Shows an API error with its kind and each refused name. */
function sayError(e) {
  let text = e.message;
  if (e.invalid && e.invalid.length) {
    text += ' [' + e.invalid.map((i) => i.host || i).join(', ') + ']';
  }
  if (e.status === 401 || e.status === 403) text += ' (set an API token at the top right)';
  say(text, 'error');
}

/** Escapes text for innerHTML. */
function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

/** A state badge. */
function badge(state) {
  const s = state || 'unknown';
  return '<span class="st st-' + esc(s) + '">' + esc(s) + '</span>';
}

/** The render of a host name, or undefined when afserver does not list it. */
function renderOf(host) {
  return app.byHost.get(host.toLowerCase());
}

/** Replaces a tbody's rows with `html` rows (one DOM update). */
function fillRows(tbody, rowsHtml) {
  const t = document.createElement('template');
  t.innerHTML = rowsHtml.join('');
  const fragment = document.createDocumentFragment();
  fragment.append(t.content);
  tbody.replaceChildren(fragment);
}

/** "showing N of M" for a limited list. */
function countText(shown, total, what) {
  return shown < total ? `showing ${shown} of ${total} ${what} (filter to narrow)` : `${total} ${what}`;
}

// ---- loading -------------------------------------------------------------------------------

let loading = null; // the load under way
let queued = null;  // the load that starts when it ends

/** Loads pools and hosts, then redraws. The promise resolves after a load that started after
 *  this call, so a caller that has just written sees its write; calls during a load share one
 *  more load. */
function reload() {
  if (!loading) {
    loading = load().finally(() => { loading = null; });
    return loading;
  }
  if (!queued) queued = loading.then(() => { queued = null; return reload(); });
  return queued;
}

async function load() {
  try {
    const [pools, hosts] = await Promise.all([api('GET', '/api/v1/pools'), api('GET', '/api/v1/hosts')]);
    app.pools = pools.sort((x, y) => naturalCompare(x.name, y.name));
    app.renders = (hosts.renders || []).sort((x, y) => naturalCompare(x.name, y.name));
    app.unknown = (hosts.unknown_members || []).sort((x, y) => naturalCompare(x.host, y.host));
    app.byHost = new Map(app.renders.map((r) => [r.name.toLowerCase(), r]));
    app.poolsOf = new Map(app.renders.map((r) => [r.name.toLowerCase(), r.pools || []]));
    for (const u of app.unknown) app.poolsOf.set(u.host.toLowerCase(), u.pools || []);
    app.loaded = true;
    redraw();
    if (!performance.getEntriesByName('afpool-drawn').length) performance.mark('afpool-drawn');
  } catch (e) {
    sayError(e);
  }
}

/** Redraws every view that shows pools or hosts. */
function redraw() {
  for (const view of Object.values(app.views)) if (view.render) view.render();
}

// ---- tabs, token, live updates -------------------------------------------------------------

function showTab(name) {
  for (const tab of document.querySelectorAll('[role=tab]')) {
    tab.setAttribute('aria-selected', String(tab.dataset.tab === name));
  }
  for (const section of document.querySelectorAll('[data-view]')) {
    section.hidden = section.dataset.view !== name;
  }
  const view = app.views[name];
  if (view && view.show) view.show();
}

function setupChrome() {
  $('tabs').addEventListener('click', (e) => {
    const tab = e.target.closest('[role=tab]');
    if (tab) showTab(tab.dataset.tab);
  });
  $('token-input').value = sessionStorage.getItem('afpool.token') || '';
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $('token-input').value.trim();
    if (token) sessionStorage.setItem('afpool.token', token);
    else sessionStorage.removeItem('afpool.token');
    say(token ? 'API token set for this tab' : 'API token cleared', 'ok');
  });
}

/** Listens to /api/v1/events; reloads on pool and render changes. */
function listen() {
  const live = $('live');
  const events = new EventSource('/api/v1/events');
  const on = () => { live.textContent = 'live'; live.className = 'live'; };
  events.addEventListener('ready', () => { on(); reload(); });
  events.addEventListener('pools', () => { on(); reload(); });
  events.addEventListener('renders', () => { on(); reload(); });
  events.onerror = () => { live.textContent = 'reconnecting…'; live.className = 'live off'; };
}

window.addEventListener('DOMContentLoaded', () => {
  setupChrome();
  for (const view of Object.values(app.views)) if (view.setup) view.setup();
  reload();
  listen();
});
