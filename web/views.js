// afpool web page, the other tabs: Hosts (which pools each render is in), "Where would this job
// run?" (a job file explained by POST /api/v1/explain), Jobs and Audit.
'use strict';

/** A table of objects: columns from the keys of the rows; nested values as JSON. */
function objectTable(rows) {
  const keys = [];
  for (const row of rows.slice(0, 50)) for (const k of Object.keys(row)) if (!keys.includes(k)) keys.push(k);
  const cell = (v) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const head = keys.map((k) => `<th>${esc(k)}</th>`).join('');
  const body = rows.slice(0, ROW_LIMIT * 3)
    .map((r) => '<tr>' + keys.map((k) => `<td>${esc(cell(r[k]))}</td>`).join('') + '</tr>').join('');
  return `<table class="grid"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

app.views.hosts = {
  setup() {
    $('host-filter').addEventListener('input', () => app.views.hosts.render());
  },
  render() {
    const needle = $('host-filter').value.trim().toLowerCase();
    const match = (name, names) => name.toLowerCase().includes(needle) ||
      names.some((n) => n.toLowerCase().includes(needle));
    const rows = app.renders.filter((r) => match(r.name, r.pools || []))
      .map((r) => [r.name, r.state, r.af_pool || '', r.pools || []]);
    for (const u of app.unknown) if (match(u.host, u.pools || [])) rows.push([u.host, 'unknown', '', u.pools || []]);
    const shown = rows.slice(0, ROW_LIMIT);
    fillRows($('host-rows'), shown.map(([name, state, afPool, names]) =>
      `<tr><td>${esc(name)}</td><td>${badge(state)}</td><td>${esc(afPool)}</td><td>${esc(names.join(', '))}</td></tr>`));
    $('host-count').textContent = countText(shown.length, rows.length, 'hosts') +
      (app.unknown.length ? ` (${app.unknown.length} pool members unknown to afserver)` : '');
  },
};

app.views.explain = {
  file: null,
  setup() {
    const drop = $('drop');
    drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      if (e.dataTransfer.files.length) app.views.explain.run(e.dataTransfer.files[0]);
    });
    $('explain-file').addEventListener('change', (e) => {
      if (e.target.files.length) app.views.explain.run(e.target.files[0]);
    });
    $('explain-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const file = app.views.explain.file;
      if (file) app.views.explain.run(file);
      else say('choose a job file first', 'error');
    });
  },
  render() {
    const select = $('explain-pool');
    const chosen = select.value;
    const options = ['<option value="">as the job says</option>']
      .concat(app.pools.map((p) => `<option>${esc(p.name)}</option>`));
    select.innerHTML = options.join('');
    select.value = chosen;
  },
  async run(file) {
    app.views.explain.file = file;
    const query = new URLSearchParams({ file: file.name });
    if ($('explain-pool').value) query.set('pool', $('explain-pool').value);
    try {
      const reply = await api('POST', '/api/v1/explain?' + query, await file.text(), true);
      $('explain-out').innerHTML = explanationHtml(reply);
      say(`${file.name}: ${reply.verdict}`, reply.ok ? 'ok' : 'error');
    } catch (e) {
      $('explain-out').textContent = '';
      sayError(e);
    }
  },
};

/** The explanation as label/value rows, then the whole reply. */
function explanationHtml(reply) {
  const value = (v) => (Array.isArray(v) ? v.join(', ') || 'none' : typeof v === 'object' && v !== null
    ? JSON.stringify(v) : String(v));
  const rows = [['file', reply.file], ['verdict', reply.verdict], ['pool', reply.pool || 'none']];
  if (reply.error) rows.push(['error', reply.error]);
  for (const [k, v] of Object.entries(reply.explain || {})) rows.push([k.replace(/_/g, ' '), value(v)]);
  const dl = rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('');
  return `<dl class="kv">${dl}</dl><details><summary>whole reply</summary><pre>${esc(JSON.stringify(reply, null, 2))}</pre></details>`;
}

app.views.jobs = {
  setup() { $('jobs-refresh').addEventListener('click', () => app.views.jobs.show()); },
  async show() {
    try {
      const reply = await api('GET', '/api/v1/jobs');
      const rows = Array.isArray(reply) ? reply : Object.entries(reply.jobs || reply)
        .map(([id, job]) => (typeof job === 'object' && job !== null ? { id, ...job } : { id, job }));
      $('jobs-out').innerHTML = rows.length ? objectTable(rows) : '<p class="hint">no pool jobs registered</p>';
      $('jobs-count').textContent = `${rows.length} jobs`;
    } catch (e) { sayError(e); }
  },
};

app.views.audit = {
  setup() {
    $('audit-form').addEventListener('submit', (e) => { e.preventDefault(); app.views.audit.show(); });
  },
  async show() {
    const query = new URLSearchParams();
    if ($('audit-since').value.trim()) query.set('since', $('audit-since').value.trim());
    if ($('audit-pool').value.trim()) query.set('pool', $('audit-pool').value.trim());
    try {
      const rows = await api('GET', '/api/v1/audit?' + query);
      rows.reverse();
      $('audit-out').innerHTML = rows.length ? objectTable(rows) : '<p class="hint">no entries</p>';
      $('audit-count').textContent = countText(Math.min(rows.length, ROW_LIMIT * 3), rows.length, 'entries, newest first');
    } catch (e) { sayError(e); }
  },
};
