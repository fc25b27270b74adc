// vigil's dashboard: one small script, no framework. Every page is a
// function that fetches the API (same origin, the session cookie) and
// builds DOM nodes with h(); text is always set as text, never as HTML.
// Server-sent events (/api/v1/ui/events) say when something changed; the
// page then fetches again, so a change shows within a second.
import uPlot from 'uplot';

const S = { user: null, role: null, csrf: null, page: 'overview', arg: null, wall: false,
            live: false, ticks: 0, es: null, timer: null, busy: false, again: false, charts: [] };
const canAct = () => S.role === 'admin' || S.role === 'operator';

// ---- DOM helpers ----
// The floor plan's tags are made in SVG's namespace.
const SVG_TAGS = new Set(['svg', 'g', 'rect', 'circle', 'text', 'title', 'line']);
function h(tag, attrs, ...kids) {
  const el = SVG_TAGS.has(tag) ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}
const $ = (sel) => document.querySelector(sel);
function panel(title, ...kids) { return h('section', { class: 'panel', 'aria-label': title }, h('h2', {}, title), kids); }
function badge(text, cls) { return h('span', { class: 'badge ' + (cls || '') }, text); }
const sevClass = { critical: 'crit', error: 'crit', warning: 'warn', info: 'info', ok: 'ok' };

function ago(ms) {
  if (!ms) return '—';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  if (s < 86400) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' d ago';
}
const hhmm = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
const when = (t) => (typeof t === 'string' ? Date.parse(t) : t);
function fmt(v, unit) {
  if (v === undefined || v === null) return '—';
  const n = Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
  return unit === 'degC' ? n + ' °C' : unit === '%RH' ? n + ' %RH' : unit ? n + ' ' + unit : n;
}

// ---- API ----
class ApiError extends Error { constructor(msg, status) { super(msg); this.status = status; } }
async function api(method, path, body) {
  const opt = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') opt.headers['X-Vigil-CSRF'] = S.csrf || '';
  if (body !== undefined) { opt.headers['Content-Type'] = 'application/json'; opt.body = JSON.stringify(body); }
  const r = await fetch(path, opt);
  let j = null;
  try { j = await r.json(); } catch { /* an empty or non-JSON answer */ }
  if (r.status === 401 && !path.endsWith('/login') && S.user) { S.user = null; showLogin('Your session ended: log in again.'); }
  if (!r.ok) throw new ApiError((j && j.error) || r.status + ' ' + r.statusText, r.status);
  return { body: j, headers: r.headers };
}
const get = async (path) => (await api('GET', path)).body;

function toast(text, bad) {
  const t = h('div', { class: 'toast' + (bad ? ' error' : ''), role: bad ? 'alert' : 'status' }, text);
  document.body.append(t);
  setTimeout(() => t.remove(), 5000);
}

// ---- login ----
function showLogin(message) {
  stopLive();
  let mode = 'password';
  const err = h('div', { class: 'error', role: 'alert', hidden: !message }, message || '');
  const who = h('input', { id: 'l-person', name: 'person', autocomplete: 'username', required: true });
  const pw = h('input', { id: 'l-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const tok = h('input', { id: 'l-token', name: 'token', type: 'password', autocomplete: 'off', required: true, disabled: true });
  const pwBox = h('div', {}, h('label', { for: 'l-person' }, 'Person'), who, h('label', { for: 'l-password' }, 'Password'), pw);
  const tokBox = h('div', { hidden: true }, h('label', { for: 'l-token' }, 'API token'), tok);
  const tabs = ['password', 'token'].map((m) => h('button', {
    type: 'button', 'aria-pressed': String(m === mode),
    onclick: () => { mode = m; pwBox.hidden = m !== 'password'; tokBox.hidden = m !== 'token';
      who.disabled = pw.disabled = m !== 'password'; tok.disabled = m !== 'token';
      tabs.forEach((b) => b.setAttribute('aria-pressed', String(b.textContent.startsWith(m === 'password' ? 'Pass' : 'API')))); },
  }, m === 'password' ? 'Password' : 'API token'));
  const form = h('form', {
    class: 'panel login', 'aria-label': 'Log in',
    onsubmit: async (ev) => {
      ev.preventDefault();
      err.hidden = true;
      const body = mode === 'password' ? { person: who.value.trim(), password: pw.value } : { token: tok.value.trim() };
      try {
        const r = await api('POST', '/api/v1/login', body);
        pw.value = ''; tok.value = '';
        setSession(r.body);
        route();
      } catch (e) { err.textContent = e.message; err.hidden = false; }
    },
  }, h('div', { class: 'brand' }, h('span', { class: 'dot' }), 'vigil'),
  h('p', { class: 'muted' }, 'Datacentre guardian. Log in with your password or an API token.'),
  h('div', { class: 'tabs' }, tabs), pwBox, tokBox,
  h('p', {}, h('button', { class: 'primary', type: 'submit' }, 'Log in')), err);
  const main = h('main', { id: 'main' }, form);
  $('#app').replaceChildren(main);
  who.focus();
}
// The flag says only that this browser had a session (the cookie itself is
// HttpOnly): then the page is fetched beside the session check.
function setSession(s) { S.user = s.user; S.role = s.role; S.csrf = s.csrf; localStorage.setItem('vigil-session', '1'); }

// ---- shell ----
const PAGES = [['overview', 'Overview'], ['incidents', 'Incidents'], ['floor', 'Floor'], ['power', 'Power'],
  ['climate', 'Climate'], ['access', 'Access'], ['events', 'Events']];
function shell() {
  const nav = h('nav', { 'aria-label': 'Pages' }, h('ul', {}, PAGES.map(([id, name]) =>
    h('li', {}, h('a', { href: '#/' + id, 'aria-current': S.page === id ? 'page' : null }, name)))));
  const header = h('header', { class: 'top' },
    h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
    h('div', { class: 'brand' }, h('span', { class: 'dot', id: 'health' }), 'vigil'), nav,
    h('div', { class: 'who' }, h('span', { id: 'live', class: 'live' + (S.live ? ' on' : '') }, 'live'),
      h('span', { id: 'served', class: 'hide-phone' }, S.served || ''), h('span', { class: 'hide-phone' }, S.user + ' · ' + S.role),
      h('button', { type: 'button', onclick: logout }, 'Log out')));
  $('#app').replaceChildren(header, h('main', { id: 'main', tabindex: '-1' }));
}
async function logout() {
  try { await api('POST', '/api/v1/logout'); } catch (e) {
    // a mirror cannot end the session for both sites: say so, stay logged in
    if (e.status === 503) { toast('Not logged out: ' + e.message, true); return; }
  }
  S.user = null;
  localStorage.removeItem('vigil-session');
  showLogin();
}

// ---- live updates ----
function startLive() {
  if (!S.renew) // a session past half its life comes back renewed: a wall screen stays logged in
    S.renew = setInterval(() => { if (S.user) get('/api/v1/session').then(setSession).catch(() => {}); }, 30 * 60 * 1000);
  if (S.es) return;
  S.es = new EventSource('/api/v1/ui/events');
  const mark = (on) => { S.live = on; const l = $('#live'); if (l) l.className = 'live' + (on ? ' on' : ''); };
  S.es.onopen = () => mark(true);
  S.es.onerror = () => mark(false);
  let hellos = 0; // the first hello is this load's; a later one is a reconnect, which may have missed changes
  S.es.addEventListener('hello', () => { if (hellos++) refresh(); });
  S.es.addEventListener('change', () => refresh());
  S.es.addEventListener('tick', () => refresh(true));
}
function stopLive() { if (S.es) { S.es.close(); S.es = null; } }

// What identifies a control across redraws, so the keyboard's focus stays
// where it was when the page is drawn again.
function focusKey(el) {
  if (!el || el === document.body || !el.closest('#main')) return null;
  if (el.dataset.fk) return el.dataset.fk;
  const row = el.closest('[data-incident],[data-site],[data-sensor]');
  return [el.tagName, el.getAttribute('href') || '', el.textContent.trim(), row ? row.dataset.incident || row.dataset.site || row.dataset.sensor : ''].join('|');
}

// Fetches the page again; one at a time, and once more if asked meanwhile.
async function refresh(tick) {
  // a form is not redrawn under the hands typing in it; charts every 30 s
  if (tick && (S.page === 'incident' || (S.page === 'climate' && ++S.ticks % 6))) return;
  if (S.busy) { S.again = true; return; }
  S.busy = true;
  try {
    const main = $('#main');
    if (!main || !S.user) return;
    const nodes = await PAGE_FNS[S.page](S.arg);
    if (nodes) {
      const key = focusKey(document.activeElement);
      main.replaceChildren(...[].concat(nodes));
      if (S.afterRender) { S.afterRender(); S.afterRender = null; }
      if (key) {
        const again = [...main.querySelectorAll('a,button,input,[tabindex="0"]')].find((x) => focusKey(x) === key);
        if (again) again.focus();
      }
    }
  } catch (e) {
    if (e.status !== 401) toast(e.message, true);
  } finally {
    S.busy = false;
    if (S.again) { S.again = false; setTimeout(refresh, 50); }
  }
}

// ---- cluster ----
async function clusterView() {
  let r;
  try { r = await api('GET', '/api/v1/cluster'); } catch (e) {
    if (e.status !== 404) throw e;
    r = { body: { standalone: true }, headers: new Headers() }; // a member without a cluster
  }
  const v = r.body;
  v._lag = Number(r.headers.get('Vigil-Lag') || 0);
  const served = $('#served');
  S.served = v.member ? `${v.member} (${v.role})` : 'standalone';
  if (served) served.textContent = S.served;
  return v;
}
function siteCard(v, name, facility, incidents) {
  const isSelf = name === v.member || !v.member;
  const primary = v.primary ? v.primary === name : isSelf;
  const inSync = (v.sync || []).includes(name);
  const reach = isSelf || (v.peer && v.peer.connected);
  const role = primary ? 'PRIMARY' : 'MIRROR';
  const f = (facility.sites || {})[name] || {};
  const open = incidents.filter((i) => i.site === name).length;
  const rows = [];
  const idx = isSelf ? v.self || {} : v.peer || {};
  if (!v.standalone) rows.push(['Link', !reach ? badge('unreachable', 'crit') : inSync ? badge('in sync', 'ok') : badge('not in sync', 'warn')]);
  if (v.standalone) { /* one member: no replication to show */ }
  else if (isSelf) rows.push(['Durable index', (idx.durable_index ?? '—')]);
  else rows.push(...(idx.durable_index !== undefined ? [['Durable index', idx.durable_index]] : []), ['Last heard', idx.last_heard_ms !== undefined ? idx.last_heard_ms + ' ms' : '—']);
  if (!primary && !v.standalone) rows.push(['Behind primary', (isSelf ? v._lag : (v.peer && v.peer.lag) || 0) + ' records']);
  rows.push(['PUE', f.pue ? f.pue.toFixed(2) : '—'], ['IT load', f.it_kw ? f.it_kw.toFixed(0) + ' kW' : '—'],
    ['Sensors', f.sensors ?? '—'],
    ['Alerts', h('span', {}, badge((f.critical || 0) + ' critical', f.critical ? 'crit' : ''), ' ', badge((f.warning || 0) + ' warning', f.warning ? 'warn' : ''))],
    ['Open incidents', open ? badge(String(open), 'crit') : '0']);
  return h('section', { class: `panel site ${!reach ? 'down' : primary ? 'primary' : 'mirror'}`, 'aria-label': 'site ' + name, 'data-site': name },
    h('div', { class: 'head' }, h('h1', {}, name), v.standalone ? badge('SITE') : badge(role, primary ? 'ok' : 'info')),
    h('div', { class: 'muted' }, v.standalone ? 'served by a standalone member' : isSelf ? 'this screen is served by ' + name : 'seen from ' + v.member),
    h('dl', { class: 'kv' }, rows.map(([k, val]) => [h('dt', {}, k), h('dd', {}, val)])));
}
function linkCard(v) {
  const w = v.witness || {};
  const lc = v.last_change;
  if (v.standalone) return h('section', { class: 'panel link', 'aria-label': 'cluster' }, h('h2', {}, 'Cluster'),
    h('div', { class: 'arrow' }, 'standalone'), h('div', { class: 'muted' }, 'one member, no mirror and no witness: see docs/cluster.md to add a second site'));
  const ok = v.peer ? v.peer.connected && (v.sync || []).length > 1 : true;
  return h('section', { class: 'panel link', 'aria-label': 'cluster' },
    h('h2', {}, 'Cluster'),
    h('div', { class: 'arrow ' + (ok ? 'ok' : 'crit'), 'aria-hidden': 'true' }, ok ? '⇄ mirrored ⇄' : '⇹ degraded ⇹'),
    h('div', {}, h('span', { class: 'muted' }, 'epoch '), h('span', { class: 'big', id: 'epoch' }, v.epoch ?? '—')),
    h('div', {}, 'primary ', h('strong', { id: 'primary' }, v.primary || v.member || 'this member')),
    v.witness ? h('div', {}, 'witness ', w.reachable ? badge('reachable', 'ok') : badge('unreachable', 'crit')) : h('div', { class: 'muted' }, 'standalone (no witness)'),
    lc ? h('div', { class: 'muted' }, `last ${lc.op} ${ago(when(lc.at))}${lc.took_ms !== undefined ? ' in ' + lc.took_ms + ' ms' : ''}${lc.by ? ' by ' + lc.by : ''}`) : null,
    v.member ? h('div', { class: 'muted' }, `${v.failovers || 0} failovers · ${v.switchovers || 0} switchovers`) : null);
}
function sitesRow(v, facility, incidents) {
  const names = v.members && v.members.length ? v.members : Object.keys(facility.sites || { here: 1 });
  const [a, b] = [names[0], names[1]];
  return h('div', { class: 'grid g-sites' }, siteCard(v, a, facility, incidents), linkCard(v),
    b ? siteCard(v, b, facility, incidents) : h('section', { class: 'panel muted' }, 'single site'));
}

// ---- incidents ----
function incidentActions(inc) {
  if (!canAct() || S.wall) return null;
  const act = async (what, body) => {
    try { await api('POST', `/api/v1/incidents/${inc.id}/${what}`, body); toast(`incident ${inc.id}: ${what === 'ack' ? 'acknowledged' : what === 'resolve' ? 'resolved' : 'note added'}`); refresh(); }
    catch (e) { toast(e.message, true); }
  };
  return h('div', { class: 'actions' },
    inc.status === 'triggered' ? h('button', { class: 'primary', type: 'button', 'data-fk': 'ack' + inc.id, onclick: () => act('ack') }, 'Acknowledge') : null,
    inc.status !== 'resolved' ? h('button', { type: 'button', 'data-fk': 'res' + inc.id, onclick: () => act('resolve', { reason: 'resolved from the dashboard' }) }, 'Resolve') : null);
}
function incidentTable(items, opts = {}) {
  if (!items.length) return h('div', { class: 'empty' }, opts.empty || 'No open incidents.');
  return h('table', { class: 'incidents' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Severity'), h('th', {}, 'Incident'), h('th', { class: 'hide-phone' }, 'Site'),
      h('th', {}, 'Status'), h('th', { class: 'hide-phone' }, 'Opened'), S.wall ? null : h('th', {}, ''))),
    h('tbody', {}, items.map((i) => h('tr', { class: 'sev-' + i.severity, 'data-incident': i.id },
      h('td', {}, badge(i.severity, sevClass[i.severity])),
      h('td', {}, S.wall ? i.summary : h('a', { href: '#/incident/' + i.id }, i.summary), h('div', { class: 'muted' }, '#' + i.id + (i.count > 1 ? ` · ${i.count} times` : ''))),
      h('td', { class: i.site ? '' : 'hide-phone' }, i.site || '—'),
      h('td', {}, i.status === 'acknowledged' ? badge('acknowledged' + (i.acked_by ? ' by ' + i.acked_by : ''), 'info') : i.status === 'resolved' ? badge('resolved') : badge('triggered', 'crit')),
      h('td', { class: 'hide-phone' }, ago(i.opened)),
      S.wall ? null : h('td', {}, incidentActions(i))))));
}
async function oncallPanel() {
  const oc = await get('/api/v1/oncall').catch(() => ({ items: [] }));
  const items = oc.items || [];
  return panel('On call now', items.length ? h('table', {}, h('tbody', {}, items.map((s) => h('tr', {},
    h('td', {}, h('strong', {}, s.person || '—')), h('td', { class: 'muted' }, s.schedule), h('td', { class: 'muted' }, s.end ? 'until ' + hhmm(s.end) : '')))))
    : h('div', { class: 'empty' }, 'Nobody is on call: no schedule is defined.'));
}
function eventsTable(items) {
  if (!items.length) return h('div', { class: 'empty' }, 'No cluster events yet.');
  return h('table', {}, h('tbody', {}, items.map((e) => h('tr', { class: 'sev-' + e.severity },
    h('td', { class: 'muted mono' }, hhmm(when(e.time))), h('td', {}, badge(e.kind, sevClass[e.severity])),
    h('td', {}, e.message), h('td', { class: 'muted hide-phone' }, 'epoch ' + e.epoch)))));
}

// One site's plant at a glance: the worst of each group of sensors.
const SAFETY = ['smoke', 'vesda-alarm', 'water-leak', 'gas-discharged', 'gas-fault'];
function glance(site, sensors, rules) {
  const of = (t) => sensors.filter((x) => x.type === t);
  const first = (t) => of(t)[0];
  const rank = { critical: 3, warning: 2, info: 1, ok: 0, unknown: 0 };
  const worst = (list) => list.reduce((w, x) => ((rank[x.state] || 0) > (rank[w] || 0) ? x.state : w), list.length ? 'ok' : 'unknown');
  const temps = of('temperature');
  const hot = temps.reduce((m, x) => (m === null || (x.value ?? -1e9) > (m.value ?? -1e9) ? x : m), null);
  const hum = first('humidity'), mains = first('mains-status'), ats = first('ats-position'), ups = first('ups-charge');
  const gen = first('generator-running'), litres = first('generator-fuel-litres');
  const fuelRule = litres && rules.find((r) => r.rule === 'generator-fuel-hours' && r.sensor === litres.name);
  const alarms = sensors.filter((x) => SAFETY.includes(x.type) && x.value);
  const doors = of('door-contact').filter((x) => x.value), forced = of('door-forced').filter((x) => x.value);
  const cell = (label, value, state) => h('div', { class: 'tile ' + (state || 'unknown') }, h('div', { class: 'n' }, label), h('div', { class: 'v' }, value));
  return h('section', { class: 'panel', 'aria-label': 'plant of ' + site }, h('h2', {}, site + ' plant'),
    h('div', { class: 'tiles' },
      cell('hottest inlet', hot ? fmt(hot.value, 'degC') : '—', worst(temps)),
      cell('humidity', hum ? fmt(hum.value, '%RH') : '—', hum && hum.state),
      cell('mains', mains ? (mains.value ? 'on' : 'LOST') : '—', mains && mains.state),
      cell('transfer switch', ats ? (ats.value ? 'generator' : 'mains') : '—', ats && ats.state),
      cell('UPS charge', ups ? fmt(ups.value, '%') : '—', worst(of('ups-charge').concat(of('ups-status')))),
      cell('generator', gen ? (gen.value ? 'running' : 'standby') : '—', gen && (gen.state === 'info' ? 'ok' : gen.state)),
      cell('fuel', fuelRule && typeof fuelRule.prediction === 'number' ? (fuelRule.prediction / 3600).toFixed(0) + ' h' : litres ? fmt(litres.value, 'L') : '—', litres && litres.state),
      cell('fire, water, gas', alarms.length ? alarmSummary(alarms) : 'all clear', worst(sensors.filter((x) => SAFETY.includes(x.type)))),
      cell('doors', forced.length ? 'FORCED' : doors.length ? doors.length + ' open' : 'closed', worst(of('door-contact').concat(of('door-forced'))))));
}
// "smoke ×3, vesda alarm, gas discharged": each kind of alarm once, counted.
function alarmSummary(alarms) {
  const n = new Map();
  for (const a of alarms) n.set(a.type, (n.get(a.type) || 0) + 1);
  return [...n].map(([t, k]) => t.replace(/-/g, ' ') + (k > 1 ? ' ×' + k : '')).join(', ');
}
// Fetched beside the rest of the overview: one list of every sensor.
const glanceData = () => Promise.all([get('/api/v1/rules').catch(() => []), get('/api/v1/sensors').catch(() => [])]);
function glanceRow(facility, [rules, sensors]) {
  const sites = Object.keys(facility.sites || {}).slice(0, 2);
  const rl = Array.isArray(rules) ? rules : rules.items || [];
  const all = Array.isArray(sensors) ? sensors : sensors.items || [];
  return h('div', { class: 'grid g-halves' }, sites.map((x) => glance(x, all.filter((y) => y.site === x), rl)));
}

// ---- pages ----
async function pageOverview() {
  const [v, facility, inc, ev, oncall, gd] = await Promise.all([clusterView(), get('/api/v1/facility'),
    get('/api/v1/incidents?status=open&limit=20'), get('/api/v1/events?limit=8'), oncallPanel(), glanceData()]);
  health(facility, inc);
  const events = (ev.items || []).slice(-8).reverse();
  return [h('h1', { class: 'skip' }, 'Overview'), sitesRow(v, facility, inc.items || []), glanceRow(facility, gd),
    h('div', { class: 'grid g-2 incidents-first' }, panel(`Open incidents (${inc.open || 0})`, incidentTable(inc.items || [])),
      h('div', { class: 'grid' }, oncall, panel('Cluster events', eventsTable(events.slice(0, 6)))))];
}
function health(facility, inc) {
  const d = $('#health');
  if (!d) return;
  const crit = Object.values(facility.sites || {}).some((s) => s.critical) || (inc.items || []).some((i) => i.severity === 'critical' && i.status === 'triggered');
  const warn = Object.values(facility.sites || {}).some((s) => s.warning) || (inc.open || 0) > 0;
  d.className = 'dot' + (crit ? ' crit' : warn ? ' warn' : '');
}
async function pageIncidents(filter) {
  const status = filter || 'open';
  const inc = await get(`/api/v1/incidents?status=${status}&limit=100`);
  const tabs = h('div', { class: 'actions', role: 'group', 'aria-label': 'Filter' }, ['open', 'triggered', 'acknowledged', 'resolved', 'all'].map((s) =>
    h('a', { class: 'btn', href: '#/incidents/' + s, 'aria-current': s === status ? 'true' : null }, s)));
  return [h('h1', { class: 'skip' }, 'Incidents'), panel(`Incidents: ${status}`, tabs, incidentTable(inc.items || [], { empty: 'No incidents here.' }))];
}
async function pageIncident(id) {
  const inc = await get('/api/v1/incidents/' + encodeURIComponent(id));
  const note = h('input', { id: 'note-text', 'aria-label': 'Note', placeholder: 'Add a note to the timeline', maxlength: '1000' });
  const form = canAct() ? h('form', { class: 'note', onsubmit: async (ev) => {
    ev.preventDefault();
    if (!note.value.trim()) return;
    try { await api('POST', `/api/v1/incidents/${inc.id}/notes`, { text: note.value.trim() }); note.value = ''; toast('note added'); refresh(); }
    catch (e) { toast(e.message, true); }
  } }, note, h('button', { type: 'submit' }, 'Add note')) : null;
  return [h('p', {}, h('a', { href: '#/incidents' }, '← all incidents')),
    h('div', { class: 'grid g-2' },
      h('section', { class: 'panel', 'aria-label': 'incident' },
        h('div', { class: 'actions' }, badge(inc.severity, sevClass[inc.severity]), badge(inc.status, inc.status === 'triggered' ? 'crit' : 'info')),
        h('h1', {}, inc.summary), h('p', { class: 'muted' }, `#${inc.id} · ${inc.key} · opened ${ago(inc.opened)}`),
        incidentActions(inc), form),
      panel('Details', h('dl', { class: 'kv' }, [['Site', inc.site], ['Zone', inc.zone], ['Source', inc.source], ['Policy', inc.policy],
        ['Count', inc.count], ['Acknowledged by', inc.acked_by]].filter(([, x]) => x !== undefined && x !== null)
        .map(([k, x]) => [h('dt', {}, k), h('dd', {}, String(x))])))),
    panel('Timeline', h('ul', { class: 'timeline' }, (inc.timeline || []).slice().reverse().map((t) => h('li', {},
      h('span', { class: 'mono muted' }, hhmm(t.time) + ' '), h('strong', {}, t.what), ' ',
      t.by ? 'by ' + t.by + ' ' : '', t.text || t.summary || '', t.notify ? 'notify ' + t.notify.join(', ') : '',
      t.target ? `${t.target} via ${t.channel || t.method} ${t.ok ? '✓' : '✗'}` : ''))))];
}
async function pageEvents() {
  const ev = await get('/api/v1/events?limit=200');
  return [h('h1', { class: 'skip' }, 'Cluster events'), panel('Cluster events', eventsTable((ev.items || []).slice().reverse()))];
}
async function sitesAndSensors(site) {
  const fac = await get('/api/v1/facility');
  const sites = Object.keys(fac.sites || {});
  const cur = site && sites.includes(site) ? site : sites[0];
  const sensors = cur ? await get('/api/v1/sensors?site=' + encodeURIComponent(cur)) : [];
  const picker = h('div', { class: 'actions', role: 'group', 'aria-label': 'Site' }, sites.map((s) =>
    h('a', { class: 'btn', href: `#/${S.page}/${s}`, 'aria-current': s === cur ? 'true' : null }, s)));
  return { site: cur, sensors: Array.isArray(sensors) ? sensors : sensors.items || [], picker, fac };
}
// What a yes/no sensor's value means, in words: [when 1, when 0].
const WORDS = { 'door-contact': ['open', 'closed'], 'door-forced': ['FORCED', 'ok'], 'camera-reachable': ['online', 'OFFLINE'],
  'mains-status': ['on', 'LOST'], 'ats-position': ['generator', 'mains'], 'generator-running': ['running', 'standby'],
  'cooling-running': ['running', 'STOPPED'], 'gas-armed': ['armed', 'disarmed'] };
function valText(s) {
  const words = WORDS[s.type] || ['ALARM', 'clear'];
  return s.type === 'ups-status' ? (s.state === 'ok' ? 'normal' : s.state) // a bit mask of NUT flags
    : s.unit ? fmt(s.value, s.unit) : s.value === undefined ? '—' : s.value ? words[0] : words[1];
}
function tile(s) {
  const val = valText(s);
  const state = s.stale ? 'stale' : s.state;
  return h('div', { class: 'tile ' + state, title: `${s.name}: ${state}`, 'data-sensor': s.name },
    h('div', { class: 'n' }, s.name.replace(/^[^-]+-[^-]+-[^-]+-/, '')), h('div', { class: 'v' }, val),
    h('div', { class: 'n' }, s.type));
}
const RANK = { critical: 0, warning: 1, stale: 2, unknown: 3, info: 4, ok: 5 };
const worstOf = (list) => list.reduce((w, x) => (RANK[x.state] < RANK[w] ? x.state : w), 'ok');
function zoneCard(z, s) {
  const worst = worstOf(s);
  return h('section', { class: 'panel zone' + (z.spec && z.spec.area_m2 >= 150 ? ' wide' : ''), 'aria-label': 'zone ' + z.name },
    h('div', { class: 'head actions' }, h('h3', {}, z.description || z.name), badge(s.length ? worst : 'no sensors', sevClass[worst] || 'stale')),
    h('div', { class: 'muted' }, [z.name, z.spec && z.spec.type, z.spec && z.spec.area_m2 ? z.spec.area_m2 + ' m²' : null].filter(Boolean).join(' · ')),
    h('div', { class: 'tiles' }, s.sort((a, b) => RANK[a.state] - RANK[b.state] || a.name.localeCompare(b.name)).map(tile)));
}
// What a dot on the plan shows inside it: the kind of sensor, at a glance.
const GLYPH = { temperature: 'T', humidity: 'H', 'dew-point': 'D', 'water-leak': 'W', smoke: 'S', 'vesda-level': 'V',
  'vesda-alarm': 'V', 'door-contact': '⇆', 'door-forced': '⇆', 'camera-reachable': 'C', 'cooling-running': '❄',
  'cooling-alarm': '❄', 'ups-charge': 'U', 'ups-status': 'U', 'power-kw': 'P' };
const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
// Where each sensor of a zone is drawn: at its spec.position (kept inside
// the zone), or, without one, in a row along the zone's bottom edge.
function placeSensors(p, sensors, u) {
  let free = 0;
  const perRow = Math.max(1, Math.floor((p.w - u * 4) / (u * 6)));
  return sensors.map((s) => {
    // inside the zone, its value under it too
    if (s.position) return { s, x: p.x + clamp(s.position.x, u * 1.4, p.w - u * 1.4), y: p.y + clamp(s.position.y, u * 1.6, p.h - u * 4) };
    const i = free++;
    return { s, x: p.x + u * 3 + (i % perRow) * u * 6, y: p.y + p.h - u * 3.4 - Math.floor(i / perRow) * u * 6 };
  });
}
function showSensor(readout, s) {
  S.planSel = s.name;
  readout.replaceChildren(h('strong', {}, s.name), h('span', { class: 'big-v' }, valText(s)),
    badge(s.state, sevClass[s.state] || 'stale'), h('span', { class: 'muted' }, [s.type, s.zone].join(' · ')));
}
// SVG text does not wrap or ellipsize: a label longer than its zone is cut
// (about 0.6 em a character), the whole of it in the zone's tooltip.
function fitText(text, width, size) {
  const n = Math.floor(width / (size * 0.6));
  return text.length <= n ? text : text.slice(0, Math.max(n - 1, 1)) + '…';
}
// One floor drawn to scale: zones as rectangles, sensors as dots coloured
// by state, each focusable and named for a screen reader.
function floorPlan(label, zones, all) {
  const P = zones.map(({ z }) => z.spec.plan);
  const x0 = Math.min(...P.map((p) => p.x)), y0 = Math.min(...P.map((p) => p.y));
  const x1 = Math.max(...P.map((p) => p.x + p.w)), y1 = Math.max(...P.map((p) => p.y + p.h));
  const u = Math.max(x1 - x0, (y1 - y0) * 1.8) / 100; // text and dots in hundredths of the plan, not metres
  const readout = h('div', { class: 'readout', 'aria-live': 'polite' }, h('span', { class: 'muted' }, 'Point at or focus a sensor for its reading.'));
  const dot = ({ s, x, y }) => {
    const state = s.state || 'unknown';
    const name = `${s.name}: ${valText(s)}, ${state}`;
    return h('g', { class: 'dot ' + state, tabindex: '0', role: 'img', 'aria-label': name, 'data-fk': 'dot:' + s.name,
      'data-sensor': s.name, transform: `translate(${x.toFixed(2)} ${y.toFixed(2)})`,
      onfocus: () => showSensor(readout, s), onmouseenter: () => showSensor(readout, s) },
    h('title', {}, name),
    state === 'critical' ? h('circle', { class: 'halo', r: u * 2.4 }) : null,
    h('circle', { class: 'c', r: u * 1.25 }),
    h('text', { class: 'g', y: u * 0.45, 'font-size': u * 1.3, 'text-anchor': 'middle' }, GLYPH[s.type] || '•'),
    h('text', { class: 'v', y: u * 3, 'font-size': u * 1.3, 'text-anchor': 'middle' }, valText(s)));
  };
  const pad = u * 2;
  const bar = x1 - x0 >= 40 ? 10 : 5; // a scale bar, in metres
  const svg = h('svg', { class: 'plan', viewBox: `${x0 - pad} ${y0 - pad} ${x1 - x0 + 2 * pad} ${y1 - y0 + pad * 3.5}`, role: 'group', 'aria-label': label + ' plan' },
    zones.map(({ z, s }) => {
      const p = z.spec.plan;
      const worst = s.length ? worstOf(s) : 'none';
      const bad = s.filter((x) => x.state === 'critical' || x.state === 'warning').length;
      return h('g', { class: 'zp ' + worst, 'data-zone': z.name, 'stroke-width': (u * 0.4).toFixed(3) },
        h('rect', { x: p.x, y: p.y, width: p.w, height: p.h, rx: u * 0.6 }),
        h('title', {}, z.description || z.name),
        h('text', { class: 'zl', x: p.x + u * 1.2, y: p.y + u * 2.6, 'font-size': u * 1.9 }, fitText(z.description || z.name, p.w - u * 2.4, u * 1.9)),
        h('text', { class: 'zs', x: p.x + u * 1.2, y: p.y + u * 4.6, 'font-size': u * 1.35 },
          fitText([z.spec.type, `${s.length} sensors`, bad ? `${bad} alarm${bad > 1 ? 's' : ''}` : null].filter(Boolean).join(' · '), p.w - u * 2.4, u * 1.35)),
        placeSensors(p, s, u).map(dot));
    }),
    h('g', { class: 'scale' }, h('line', { x1: x0, y1: y1 + pad * 1.4, x2: x0 + bar, y2: y1 + pad * 1.4 }),
      h('text', { x: x0 + bar + u, y: y1 + pad * 1.4 + u * 0.5, 'font-size': u * 1.3 }, bar + ' m')));
  const sel = S.planSel && all.find((x) => x.name === S.planSel);
  if (sel) showSensor(readout, sel);
  return h('div', { class: 'panel plan-panel' }, svg, readout);
}
async function pageFloor(site) {
  const { site: cur, sensors, picker } = await sitesAndSensors(site);
  const zones = await get('/api/v1/objects/Zone').catch(() => ({ items: [] }));
  const byZone = new Map();
  for (const z of zones.items || []) if (!z.spec || z.spec.site === cur) byZone.set(z.name, { z, s: [] });
  for (const s of sensors) {
    if (!byZone.has(s.zone || '')) byZone.set(s.zone || '', { z: { name: s.zone || '(no zone)' }, s: [] });
    byZone.get(s.zone || '').s.push(s);
  }
  const floors = new Map(); // floor number -> {plan: zones drawn, cards: the others}, read from the top floor down
  for (const zs of byZone.values()) {
    const z = zs.z;
    const floor = z.spec && z.spec.floor !== undefined ? z.spec.floor : '—';
    if (!floors.has(floor)) floors.set(floor, { plan: [], cards: [] });
    if (z.spec && z.spec.plan) floors.get(floor).plan.push(zs);
    else floors.get(floor).cards.push(zoneCard(z, zs.s));
  }
  const order = [...floors.keys()].sort((a, b) => (b === '—') - (a === '—') || b - a);
  return [h('h1', { class: 'skip' }, 'Floor'), h('div', { class: 'actions' }, picker,
    h('div', { class: 'legend' }, h('span', { class: 'ok' }, 'ok'), h('span', { class: 'warning' }, 'warning'), h('span', { class: 'critical' }, 'critical'), h('span', {}, 'unknown or stale'))),
  ...order.map((f) => {
    const { plan, cards } = floors.get(f);
    const title = f === '—' ? 'Zones without a floor' : `${cur} · floor ${f}`;
    return h('section', { class: 'floor', 'aria-label': 'floor ' + f }, h('h2', {}, title),
      plan.length ? floorPlan(title, plan, sensors) : null, cards.length ? h('div', { class: 'zones' }, cards) : null);
  })];
}
function meter(pct, warnBelow, label) {
  const p = Math.max(0, Math.min(100, pct || 0));
  const m = h('div', { class: 'meter', role: 'meter', 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(Math.round(p)) },
    h('i', { class: p < warnBelow / 2 ? 'crit' : p < warnBelow ? 'warn' : '' }));
  m.firstChild.style.width = p + '%';
  return m;
}
// The generator-fuel-hours rule's own prediction (seconds at the present
// load), so the screen and the alert say the same.
async function fuelHours(sensor) {
  const rules = await get('/api/v1/rules').catch(() => []);
  const r = (Array.isArray(rules) ? rules : rules.items || []).find((x) => x.rule === 'generator-fuel-hours' && x.sensor === sensor.name);
  return r && typeof r.prediction === 'number' ? r.prediction / 3600 : null;
}
async function pagePower(site) {
  const { site: cur, sensors, picker } = await sitesAndSensors(site);
  const by = (t) => sensors.filter((s) => s.type === t);
  const val = (t) => (by(t)[0] || {}).value;
  const stateOf = (t) => (by(t)[0] || {}).state || 'unknown';
  const row = (label, s, text) => [h('dt', {}, label), h('dd', {}, text, ' ', s ? badge(s, sevClass[s]) : null)];
  const mainsOn = val('mains-status');
  const litres = by('generator-fuel-litres')[0];
  const hours = litres ? await fuelHours(litres) : null;
  const gens = by('generator-fuel').map((g) => h('section', { class: 'panel', 'aria-label': 'generator' },
    h('h2', {}, 'Generator'), h('div', { class: 'big' }, val('generator-running') ? 'RUNNING' : 'standby'),
    h('dl', { class: 'kv' }, row('Fuel', g.state, fmt(g.value, '%')), litres ? row('Fuel left', null, fmt(litres.value, 'L')) : null,
      row('Fuel hours', null, hours !== null ? hours.toFixed(1) + ' h at the present load' : '—'),
      row('Load', null, fmt(val('generator-load'), '%'))), meter(g.value, 50, 'fuel')));
  const ups = by('ups-charge').map((u) => h('section', { class: 'panel', 'aria-label': 'UPS' }, h('h2', {}, 'UPS'),
    h('div', { class: 'big' }, fmt(u.value, '%')), meter(u.value, 50, 'battery charge'),
    h('dl', { class: 'kv' }, row('Status', stateOf('ups-status'), ''), row('Runtime', null, val('ups-runtime') !== undefined ? Math.round(val('ups-runtime') / 60) + ' min' : '—'),
      row('Load', null, fmt(val('ups-load'), '%')))));
  return [h('h1', { class: 'skip' }, 'Power'), picker, h('div', { class: 'grid g-cols' },
    h('section', { class: 'panel', 'aria-label': 'mains' }, h('h2', {}, 'Mains'),
      h('div', { class: 'big' }, mainsOn === undefined ? '—' : mainsOn ? 'ON' : 'LOST'),
      h('dl', { class: 'kv' }, row('Status', stateOf('mains-status'), ''), row('Voltage', stateOf('mains-voltage'), fmt(val('mains-voltage'), 'V')))),
    h('section', { class: 'panel', 'aria-label': 'transfer switch' }, h('h2', {}, 'Transfer switch'),
      h('div', { class: 'big' }, val('ats-position') === undefined ? '—' : val('ats-position') ? 'GENERATOR' : 'MAINS'),
      h('dl', { class: 'kv' }, row('State', stateOf('ats-position'), ''))),
    ups, gens,
    h('section', { class: 'panel', 'aria-label': 'load' }, h('h2', {}, 'Load'),
      h('dl', { class: 'kv' }, by('power-kw').map((p) => row(p.name, p.state, fmt(p.value, 'kW'))))))];
}
// ASHRAE TC 9.9 bands (class A1): recommended 18–27 °C, allowable 15–32 °C;
// humidity recommended up to 60 %RH, allowable 8–80 %RH.
const BANDS = { temperature: { rec: [18, 27], allow: [15, 32], unit: '°C' }, humidity: { rec: [8, 60], allow: [8, 80], unit: '%RH' } };
function bandsPlugin(b) {
  return { hooks: { drawClear: (u) => {
    const ctx = u.ctx, { left, width, top, height } = u.bbox, y = (v) => u.valToPos(v, 'y', true);
    const fill = (lo, hi, color) => { const y0 = Math.max(top, Math.min(top + height, y(hi))); const y1 = Math.max(top, Math.min(top + height, y(lo))); ctx.fillStyle = color; ctx.fillRect(left, y0, width, y1 - y0); };
    ctx.save();
    fill(b.allow[0], b.allow[1], 'rgba(240,180,41,0.10)');
    fill(b.rec[0], b.rec[1], 'rgba(63,207,110,0.14)');
    ctx.restore();
  } } };
}
const PALETTE = ['#5fb0ff', '#3fcf6e', '#f0b429', '#ff8c69', '#c792ea', '#7fdbca', '#ffd166', '#ef8fb5'];
const RANGES = { '15m': [900, '10s'], '1h': [3600, '30s'], '24h': [86400, '10m'] };
async function chart(kind, sensors, width) {
  const sel = sensors.slice(0, 8);
  const [span, step] = RANGES[S.range] || RANGES['1h'];
  const series = await Promise.all(sel.map((s) => get(`/api/v1/series?sensor=${encodeURIComponent(s.name)}&from=-${S.range || '1h'}&to=now&step=${step}`).catch(() => ({ points: [] }))));
  const times = [...new Set(series.flatMap((r) => (r.points || []).map((p) => p[0])))].sort((a, b) => a - b);
  const data = [times.map((t) => t / 1000)];
  // points are [time, min, max, avg, count]: the line is the average
  series.forEach((r) => { const m = new Map((r.points || []).map((p) => [p[0], p[3]])); data.push(times.map((t) => (m.has(t) ? m.get(t) : null))); });
  const b = BANDS[kind];
  const el = h('div', { class: 'chart', role: 'img', 'aria-label': `${kind} over the last ${S.range || '1h'}, ASHRAE recommended ${b.rec[0]}–${b.rec[1]} ${b.unit} shaded` });
  const axis = { stroke: '#a7b6c6', grid: { stroke: '#2a3a4d' }, ticks: { stroke: '#2a3a4d' } };
  const opts = { width, height: 260, plugins: [bandsPlugin(b)], legend: { show: true },
    scales: { x: { time: true, range: () => [Date.now() / 1000 - span, Date.now() / 1000] }, y: { range: (u, lo, hi) => [Math.min(lo ?? b.rec[0], b.allow[0]) - 1, Math.max(hi ?? b.rec[1], b.allow[1]) + 1] } },
    axes: [{ ...axis, values: (u, splits) => splits.map((v) => hhmm(v * 1000)) }, { ...axis, label: b.unit }],
    series: [{}].concat(sel.map((s, i) => ({ label: s.name, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true }))) };
  S.charts.push(new uPlot(opts, data, el));
  return el;
}
async function pageClimate(site) {
  const old = S.charts; // still on the screen until the new page replaces them
  S.charts = [];
  S.afterRender = () => old.forEach((c) => c.destroy());
  const { sensors, picker } = await sitesAndSensors(site);
  const width = Math.max(280, Math.min(($('#main') ? $('#main').clientWidth : 900) - 70, 2400));
  const ranges = h('div', { class: 'actions', role: 'group', 'aria-label': 'Time range' }, Object.keys(RANGES).map((r) =>
    h('button', { type: 'button', 'aria-pressed': String((S.range || '1h') === r), onclick: () => { S.range = r; refresh(); } }, 'last ' + r)));
  const temps = sensors.filter((s) => s.type === 'temperature');
  const hums = sensors.filter((s) => s.type === 'humidity');
  return [h('h1', { class: 'skip' }, 'Climate'), h('div', { class: 'actions' }, picker, ranges),
    h('div', { class: 'grid' }, panel(`Temperature, last ${S.range || '1h'} (ASHRAE A1 bands: green recommended, amber allowable)`, temps.length ? await chart('temperature', temps, width) : h('div', { class: 'empty' }, 'No temperature sensors.')),
      panel(`Humidity, last ${S.range || '1h'}`, hums.length ? await chart('humidity', hums, width) : h('div', { class: 'empty' }, 'No humidity sensors.')))];
}
async function pageAccess(site) {
  const { sensors, picker } = await sitesAndSensors(site);
  const doors = sensors.filter((s) => /^(door-|camera-)/.test(s.type));
  const alerts = await get('/api/v1/alerts').catch(() => ({ active: [], recent: [] }));
  const names = new Set(doors.map((d) => d.name));
  const seen = new Set(); // an active alert is also the last of its changes in recent
  const recent = (alerts.recent || []).concat(alerts.active || []).filter((a) => names.has(a.sensor))
    .filter((a) => { const k = a.id + '@' + a.time; if (seen.has(k)) return false; seen.add(k); return true; })
    .sort((a, b) => (b.time || 0) - (a.time || 0));
  return [h('h1', { class: 'skip' }, 'Access'), picker, h('div', { class: 'grid g-2' },
    panel('Doors and cameras', h('div', { class: 'tiles' }, doors.map(tile))),
    panel('Door and access events', recent.length ? h('table', {}, h('tbody', {}, recent.slice(0, 50).map((a) => h('tr', { class: 'sev-' + a.to },
      h('td', { class: 'mono muted' }, a.time ? hhmm(a.time) : ''), h('td', {}, a.sensor), h('td', {}, badge(a.to, sevClass[a.to])), h('td', {}, a.message || '')))))
      : h('div', { class: 'empty' }, 'No door or access events.')))];
}
async function pageWall() {
  const [v, facility, inc, ev, oncall, gd] = await Promise.all([clusterView(), get('/api/v1/facility'),
    get('/api/v1/incidents?status=open&limit=12'), get('/api/v1/events?limit=6'), oncallPanel(), glanceData()]);
  health(facility, inc);
  return [h('h1', { class: 'skip' }, 'Wall screen'), sitesRow(v, facility, inc.items || []), glanceRow(facility, gd),
    h('div', { class: 'grid g-wall' }, panel(`Open incidents (${inc.open || 0})`, incidentTable(inc.items || [])),
      h('div', { class: 'grid' }, oncall, panel('Cluster events', eventsTable((ev.items || []).slice().reverse().slice(0, 5)))))];
}
const PAGE_FNS = { overview: pageOverview, incidents: pageIncidents, incident: pageIncident, events: pageEvents,
  floor: pageFloor, power: pagePower, climate: pageClimate, access: pageAccess, wall: pageWall };

// ---- routing ----
async function route() {
  const [page, arg] = (location.hash.replace(/^#\/?/, '') || 'overview').split('/');
  S.page = PAGE_FNS[page] ? page : 'overview';
  S.arg = arg ? decodeURIComponent(arg) : null;
  S.wall = S.page === 'wall';
  document.body.classList.toggle('wall', S.wall);
  document.title = `vigil · ${S.page}`;
  if (!S.user) { // ask who we are and, when a session is likely, fetch the page at once
    const likely = localStorage.getItem('vigil-session') === '1';
    const [who, nodes] = await Promise.allSettled([get('/api/v1/session'),
      likely ? PAGE_FNS[S.page](S.arg) : Promise.reject(new Error('not yet'))]);
    if (who.status !== 'fulfilled') { localStorage.removeItem('vigil-session'); showLogin(); return; }
    setSession(who.value);
    shell();
    startLive();
    if (nodes.status === 'fulfilled') {
      $('#main').replaceChildren(...[].concat(nodes.value));
      performance.mark('vigil:shown'); // the load time the browser test reads
      return;
    }
  } else {
    shell();
    startLive();
  }
  await refresh();
}
window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', route);
