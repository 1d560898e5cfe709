// fieldline dashboard: plain JS, no bundler. Auth is an HttpOnly cookie set by POST /api/v1/login,
// which fetch and EventSource both carry. State lives in the URL hash so views can be bookmarked.
'use strict';

const RANGES = { '5m': 5 * 60e3, '15m': 15 * 60e3, '1h': 3600e3, '6h': 6 * 3600e3, '24h': 864e5, '7d': 7 * 864e5, '30d': 30 * 864e5, '1y': 365 * 864e5 };
const SEV_COLOR = { critical: [220, 38, 38], warning: [217, 119, 6], info: [8, 145, 178] };
const POINTS_MAX = 2000;
const $ = (id) => document.getElementById(id);

const state = { device: null, sensor: null, range: null, from: null, to: null, devices: [], series: null, alerts: new Map(), sessions: [], unit: '' };
let plot = null;
let source = null;
let liveKey = '';
// The x scale always shows the picked window, not just the span of the data.
const view = { from: 0, to: 0 };

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

class Unauthorized extends Error {}

async function api(path, opts = {}) {
  const res = await fetch(path, { credentials: 'same-origin', ...opts });
  if (res.status === 401) throw new Unauthorized('unauthorized');
  const body = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error(body?.message ?? `HTTP ${res.status}`);
  return body;
}

// ---- formatting -------------------------------------------------------------
const fmtNum = (v) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Math.abs(v) >= 1000 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
const fmtTime = (ms) => new Date(ms).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const fmtDur = (ms) => (ms < 60e3 ? `${Math.round(ms / 1e3)} s` : ms < 3600e3 ? `${Math.round(ms / 60e3)} min` : `${(ms / 3600e3).toFixed(1)} h`);
const toLocalInput = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60e3).toISOString().slice(0, 19);

// ---- URL state --------------------------------------------------------------
function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  state.device = p.get('device');
  state.sensor = p.get('sensor');
  state.from = p.has('from') ? Number(p.get('from')) : null;
  state.to = p.has('to') ? Number(p.get('to')) : null;
  // No range in the URL (the first view): start() fits one to the data there is.
  state.range = state.from && state.to ? 'custom' : RANGES[p.get('range')] ? p.get('range') : null;
}

function writeHash() {
  const p = new URLSearchParams();
  if (state.device) p.set('device', state.device);
  if (state.sensor) p.set('sensor', state.sensor);
  if (state.range === 'custom') {
    p.set('from', String(state.from));
    p.set('to', String(state.to));
  } else p.set('range', state.range);
  history.replaceState(null, '', `#${p}`);
}

function window_() {
  if (state.range === 'custom') return { from: state.from, to: state.to, live: false };
  const to = Date.now();
  return { from: to - (RANGES[state.range] ?? RANGES['24h']), to, live: true };
}

// ---- device tree ------------------------------------------------------------
function renderTree() {
  const tree = $('tree');
  tree.replaceChildren();
  if (!state.devices.length) tree.append(h('p', { class: 'muted' }, 'No devices have reported yet.'));
  for (const d of state.devices) {
    const st = d.status?.state;
    const sensors = h('ul');
    for (const s of d.sensors) {
      const current = d.device === state.device && s.sensor === state.sensor;
      sensors.append(
        h('li', {}, h('button', {
          class: 'sensor', 'aria-current': String(current), 'data-device': d.device, 'data-sensor': s.sensor,
          onclick: () => select(d.device, s.sensor),
        }, h('span', {}, s.sensor), h('span', { class: 'value' }, `${fmtNum(s.last?.value)}${s.unit ? ` ${s.unit}` : ''}`))),
      );
    }
    tree.append(h('div', { class: 'device' }, h('div', { class: 'device-name', title: st ?? 'status unknown' }, h('i', { class: `dot ${st ?? ''}` }), d.device), sensors));
  }
}

async function loadDevices() {
  state.devices = (await api('api/v1/devices')).devices;
  renderTree();
}

// ---- chart ------------------------------------------------------------------
/** Draws alert bands (full height, severity colour) and session bands (a strip at the bottom) under the lines. */
function bandsPlugin() {
  return {
    hooks: {
      drawClear: [(u) => {
        const { ctx, bbox } = u;
        const [xMin, xMax] = [u.scales.x.min, u.scales.x.max];
        const x = (ms) => u.valToPos(Math.min(Math.max(ms / 1e3, xMin), xMax), 'x', true);
        ctx.save();
        state.sessions.forEach((s, i) => {
          if (s.end / 1e3 < xMin || s.start / 1e3 > xMax) return;
          const x0 = x(s.start), x1 = x(s.end);
          ctx.fillStyle = i % 2 ? 'rgba(124, 58, 237, .32)' : 'rgba(124, 58, 237, .5)';
          ctx.fillRect(x0, bbox.top + bbox.height - 6 * devicePixelRatio, Math.max(x1 - x0, 1), 6 * devicePixelRatio);
        });
        for (const a of state.alerts.values()) {
          const end = a.state === 'resolved' ? a.end ?? a.ts : Date.now();
          if (end / 1e3 < xMin || a.start / 1e3 > xMax) continue;
          const [r, g, b] = SEV_COLOR[a.severity] ?? SEV_COLOR.info;
          const x0 = x(a.start), x1 = Math.max(x(end), x0 + 2 * devicePixelRatio);
          ctx.fillStyle = `rgba(${r}, ${g}, ${b}, .14)`;
          ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
          ctx.fillStyle = `rgba(${r}, ${g}, ${b}, .85)`;
          ctx.fillRect(x0, bbox.top, x1 - x0, 3 * devicePixelRatio);
        }
        ctx.restore();
      }],
    },
  };
}

function chartSize() {
  const el = $('chart');
  return { width: Math.max(el.clientWidth, 200), height: window.innerWidth < 760 ? 240 : 340 };
}

function toPlotData(s) {
  return [s.time.map((t) => t / 1e3), s.mean, s.min, s.max];
}

function drawChart() {
  const s = state.series;
  const data = toPlotData(s);
  const unit = state.unit ? ` ${state.unit}` : '';
  Object.assign(view, window_());
  if (plot) plot.destroy();
  plot = new uPlot({
    ...chartSize(),
    plugins: [bandsPlugin()],
    legend: { show: false },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true, range: () => [view.from / 1e3, view.to / 1e3] } },
    axes: [
      { stroke: '#6b7686', grid: { stroke: '#eef1f5' }, ticks: { stroke: '#e2e7ee' } },
      { stroke: '#6b7686', grid: { stroke: '#eef1f5' }, ticks: { stroke: '#e2e7ee' }, values: (u, vals) => vals.map((v) => fmtNum(v) + unit),
        // Wide enough for the longest label, units included.
        size: (u, vals) => (vals ? Math.max(...vals.map((v) => v.length)) : 4) * 7 + 18 },
    ],
    series: [
      {},
      { label: 'mean', stroke: '#2563eb', width: 1.6, points: { show: false } },
      { label: 'min', stroke: 'rgba(37, 99, 235, .25)', width: 1, points: { show: false } },
      { label: 'max', stroke: 'rgba(37, 99, 235, .25)', width: 1, points: { show: false } },
    ],
    bands: [{ series: [3, 2], fill: 'rgba(37, 99, 235, .12)' }],
    hooks: {
      // Drag-to-zoom turns into a custom range, fetched at full resolution for the new span.
      setSelect: [(u) => {
        if (u.select.width < 5) return;
        const a = u.posToVal(u.select.left, 'x') * 1e3, b = u.posToVal(u.select.left + u.select.width, 'x') * 1e3;
        setRange('custom', Math.floor(a), Math.ceil(b));
      }],
    },
  }, data, $('chart'));
}

function renderStats() {
  const s = state.series;
  const vals = s.mean.filter((v) => v !== null);
  const firing = [...state.alerts.values()].filter((a) => a.state === 'firing').length;
  const stat = (label, value, cls = '') => h('div', { class: `stat ${cls}` }, h('b', {}, value), h('small', {}, label));
  const last = vals.length ? vals[vals.length - 1] : null;
  $('stats').replaceChildren(
    stat('latest', `${fmtNum(last)}${state.unit ? ` ${state.unit}` : ''}`),
    stat('min', fmtNum(vals.length ? Math.min(...s.min) : null)),
    stat('max', fmtNum(vals.length ? Math.max(...s.max) : null)),
    stat('alerts firing', String(firing), firing ? 'alerting' : ''),
  );
  // The API picks the tier (raw readings for short ranges, rollups for long ones) and says which.
  const tier = s.tier ?? 'raw';
  $('bucket').textContent = `${s.points} points · bucket ${fmtDur(s.bucketMs)} · ${tier === 'raw' ? 'raw readings' : `${tier} rollups`}`;
  $('bucket').dataset.tier = tier;
}

function renderLists() {
  const alerts = [...state.alerts.values()].sort((a, b) => b.start - a.start);
  $('alerts').replaceChildren(...(alerts.length ? alerts.map((a) => h('li', {},
    h('span', { class: `badge ${a.severity}` }, a.severity),
    h('span', {}, h('b', {}, a.rule), ` ${a.message ?? ''}`),
    h('span', { class: `state ${a.state}` }, a.state),
    h('span', { class: 'when' }, a.state === 'resolved' && a.end ? `${fmtTime(a.start)} – ${fmtTime(a.end)} (${fmtDur(a.end - a.start)})` : `since ${fmtTime(a.start)}`),
  )) : [h('li', { class: 'muted' }, 'No alerts in this range.')]));
  $('sessions').replaceChildren(...(state.sessions.length ? state.sessions.map((s) => h('li', {},
    h('span', { class: 'badge session' }, s.closedBy.replace('_', ' ')),
    h('span', {}, `${s.count} readings · mean ${fmtNum(s.mean)} · σ ${fmtNum(s.stddev)}`),
    h('span', { class: s.anomalies ? 'state firing' : 'state' }, s.anomalies ? `${s.anomalies} anomalies` : ''),
    h('span', { class: 'when' }, `${fmtTime(s.start)} – ${fmtTime(s.end)} (${fmtDur(s.end - s.start)})`),
  )) : [h('li', { class: 'muted' }, 'No sessions in this range.')]));
}

let loadSeq = 0;
async function loadView() {
  if (!state.device || !state.sensor) return;
  // Clicks can outrun responses: only the latest request may draw.
  const seq = ++loadSeq;
  const { from, to } = window_();
  const q = new URLSearchParams({ device: state.device, sensor: state.sensor, from: String(from), to: String(to) });
  const points = String(Math.min(POINTS_MAX, Math.max(100, Math.round(chartSize().width))));
  const [series, alerts, sessions] = await Promise.all([
    api(`api/v1/series?${q}&points=${points}`),
    api(`api/v1/alerts?${q}&limit=500`),
    api(`api/v1/sessions?${q}&limit=500`),
  ]);
  if (seq !== loadSeq) return;
  const dev = state.devices.find((d) => d.device === state.device);
  state.unit = dev?.sensors.find((s) => s.sensor === state.sensor)?.unit ?? '';
  state.series = series;
  state.alerts = new Map(alerts.alerts.map((a) => [a.id, a]));
  state.sessions = sessions.sessions;
  $('empty').hidden = true;
  $('view').hidden = false;
  $('title').textContent = `${state.device} / ${state.sensor}`;
  $('subtitle').textContent = `${fmtTime(from)} – ${fmtTime(to)}`;
  renderStats();
  renderLists();
  drawChart();
}

// ---- live updates -----------------------------------------------------------
function connectLive() {
  if (source) source.close();
  source = null;
  liveKey = `${state.device}/${state.sensor}`;
  if (!state.device) return;
  const q = new URLSearchParams({ device: state.device, readings: 'true' });
  if (state.sensor) q.set('sensor', state.sensor);
  source = new EventSource(`api/v1/live?${q}`);
  source.addEventListener('hello', () => $('live').classList.add('on'));
  source.addEventListener('error', () => $('live').classList.remove('on'));
  source.addEventListener('alert', (e) => {
    const a = JSON.parse(e.data);
    const prev = state.alerts.get(a.id);
    if (prev?.state === 'resolved') return; // resolved is final
    state.alerts.set(a.id, { ...prev, ...a, start: prev?.start ?? a.start });
    refresh();
  });
  source.addEventListener('session', (e) => {
    state.sessions.unshift(JSON.parse(e.data));
    refresh();
  });
  source.addEventListener('readings', (e) => {
    const { readings } = JSON.parse(e.data);
    const w = window_();
    if (!w.live || !state.series) return;
    const s = state.series;
    for (const r of readings) {
      if (r.sensor !== state.sensor || r.ts <= (s.time[s.time.length - 1] ?? 0)) continue;
      s.time.push(r.ts); s.mean.push(r.value); s.min.push(r.value); s.max.push(r.value);
    }
    // Keep the window sliding and the arrays bounded.
    while (s.time.length && (s.time[0] < w.from || s.time.length > POINTS_MAX * 2)) ['time', 'mean', 'min', 'max'].forEach((k) => s[k].shift());
    s.points = s.time.length;
    refresh();
  });
}

let pending = false;
function refresh() {
  if (pending || !state.series) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    renderStats();
    renderLists();
    Object.assign(view, window_());
    plot.setData(toPlotData(state.series));
  });
}

// ---- interaction ------------------------------------------------------------
async function select(device, sensor) {
  state.device = device;
  state.sensor = sensor;
  writeHash();
  renderTree();
  $('tree').classList.remove('open');
  await guard(loadView());
  if (liveKey !== `${device}/${sensor}` || !source) connectLive();
}

function setRange(range, from, to) {
  state.range = range;
  if (range === 'custom') {
    state.from = from;
    state.to = to;
    $('from').value = toLocalInput(from);
    $('to').value = toLocalInput(to);
  }
  pressRangeButtons();
  writeHash();
  guard(loadView());
}

async function guard(promise) {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Unauthorized) showLogin();
    else console.error(err);
  }
}

function showLogin(message = '') {
  if (source) source.close();
  source = null;
  $('login-error').textContent = message;
  $('login').hidden = false;
  $('token').focus();
}

/**
 * The shortest preset that holds all of the selected sensor's data, so that a first view of a demo
 * two minutes old shows two minutes, not a day with the data in its last pixel. Asks for 100
 * buckets over 30 days, then over the span from the first non-empty bucket, until the buckets are
 * fine enough to place the first reading (at most four small requests).
 */
async function fitRange() {
  const to = Date.now();
  let from = to - RANGES['30d'];
  let found = false;
  for (let i = 0; i < 4; i++) {
    const q = new URLSearchParams({ device: state.device, sensor: state.sensor, from: String(from), to: String(to) });
    const s = await api(`api/v1/series?${q}&points=100`);
    const idx = s.mean.findIndex((v) => v !== null && v !== undefined);
    if (idx < 0) break;
    found = true;
    const bucket = (to - from) / 100;
    from = Math.max(from, s.time[idx]);
    if (to - from > 20 * bucket) break;
  }
  if (!found) return '24h';
  const span = to - from;
  return Object.keys(RANGES).find((r) => RANGES[r] >= span * 1.05) ?? '30d';
}

function pressRangeButtons() {
  for (const b of document.querySelectorAll('#ranges button')) b.setAttribute('aria-pressed', String(b.dataset.range === state.range));
}

async function start() {
  $('login').hidden = true;
  await loadDevices();
  if (!state.device && state.devices[0]?.sensors[0]) {
    state.device = state.devices[0].device;
    state.sensor = state.devices[0].sensors[0].sensor;
  }
  if (!state.range) {
    state.range = state.device && state.sensor ? await fitRange() : '24h';
    pressRangeButtons();
  }
  await select(state.device, state.sensor);
}

document.addEventListener('DOMContentLoaded', () => {
  readHash();
  for (const b of document.querySelectorAll('#ranges button')) {
    b.setAttribute('aria-pressed', String(b.dataset.range === state.range));
    b.addEventListener('click', () => {
      if (b.dataset.range === 'custom') {
        const w = window_();
        $('custom').hidden = !$('custom').hidden;
        if (!$('from').value) { $('from').value = toLocalInput(w.from); $('to').value = toLocalInput(w.to); }
      } else {
        $('custom').hidden = true;
        setRange(b.dataset.range);
      }
    });
  }
  $('custom').addEventListener('submit', (e) => {
    e.preventDefault();
    const from = new Date($('from').value).getTime(), to = new Date($('to').value).getTime();
    if (from < to) setRange('custom', from, to);
  });
  $('menu').addEventListener('click', () => {
    const open = $('tree').classList.toggle('open');
    $('menu').setAttribute('aria-expanded', String(open));
  });
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('api/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: $('token').value }) });
      $('token').value = '';
      await guard(start());
    } catch (err) {
      showLogin(err instanceof Unauthorized ? 'That token was not accepted.' : err.message);
    }
  });
  $('logout').addEventListener('click', async () => {
    await fetch('api/v1/logout', { method: 'POST' });
    showLogin();
  });
  new ResizeObserver(() => plot && plot.setSize(chartSize())).observe($('chart'));
  // Relative ranges follow the clock: refetch every minute so downsampled history and the tree stay current.
  setInterval(() => {
    if (!$('login').hidden) return;
    guard(loadDevices());
    if (window_().live && state.series) guard(loadView());
  }, 60e3);
  guard(start());
});
