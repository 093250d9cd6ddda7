// afpool web page, the Pools tab: the pool list with member counts, one pool's members with
// their live state, its rule (web/rule.js), policy and spill-over (web/policy.js), adding hosts (from afserver's renders or typed), removing, renaming and
// deleting. Rows are drawn in one DOM update each and clicks are handled by their table.
'use strict';

const pools = {
  selected: null, // the chosen pool's name
  stats: new Map(), // pool name → {hosts, online, busy, unknown}

  setup() {
    $('pool-filter').addEventListener('input', () => pools.drawList());
    $('render-filter').addEventListener('input', () => pools.drawPicker());
    $('render-online').addEventListener('change', () => pools.drawPicker());
    $('pool-rows').addEventListener('click', (e) => {
      const row = e.target.closest('tr[data-pool]');
      if (row && e.target.closest('button')) pools.select(row.dataset.pool);
    });
    $('member-rows').addEventListener('click', (e) => {
      const button = e.target.closest('button[data-remove]');
      if (button) pools.removeHost(button.dataset.remove);
    });
    $('render-rows').addEventListener('click', (e) => {
      const button = e.target.closest('button[data-add]');
      if (button) pools.addHosts([button.dataset.add]);
    });
    $('new-pool-form').addEventListener('submit', (e) => { e.preventDefault(); pools.create(); });
    $('rename-form').addEventListener('submit', (e) => { e.preventDefault(); pools.rename(); });
    rule.setup();
    policy.setup();
    $('add-typed-form').addEventListener('submit', (e) => { e.preventDefault(); pools.addTyped(); });
    $('delete-pool').addEventListener('click', () => pools.askDelete());
    $('confirm-delete').addEventListener('close', () => {
      if ($('confirm-delete').returnValue === 'delete') pools.remove();
    });
  },

  render() {
    pools.stats = new Map(app.pools.map((p) => [p.name, pools.count(p.hosts)]));
    if (pools.selected && !app.pools.some((p) => p.name === pools.selected)) pools.selected = null;
    pools.drawList();
    pools.drawDetail();
  },

  /** Members, online, busy and unknown of a host list. */
  count(hosts) {
    const c = { hosts: hosts.length, online: 0, busy: 0, unknown: 0 };
    for (const h of hosts) {
      const r = renderOf(h);
      if (!r) c.unknown++;
      else { if (r.online) c.online++; if (r.busy) c.busy++; }
    }
    return c;
  },

  drawList() {
    const needle = $('pool-filter').value.trim().toLowerCase();
    const found = app.pools.filter((p) => p.name.toLowerCase().includes(needle));
    const shown = found.slice(0, ROW_LIMIT);
    fillRows($('pool-rows'), shown.map((p) => {
      const c = pools.stats.get(p.name);
      const sel = p.name === pools.selected ? ' class="sel"' : '';
      return `<tr data-pool="${esc(p.name)}"${sel}><td><button type="button" class="link">${esc(p.name)}</button></td>` +
        `<td class="n">${c.hosts}</td><td class="n">${c.online}</td><td class="n">${c.busy}</td>` +
        `<td class="n">${c.unknown || ''}</td></tr>`;
    }));
    $('pool-count').textContent = app.loaded ? countText(shown.length, found.length, 'pools') : 'loading…';
  },

  current() {
    return app.pools.find((p) => p.name === pools.selected);
  },

  drawDetail() {
    const pool = pools.current();
    $('pool-detail').hidden = !pool;
    $('pool-none').hidden = !!pool;
    if (!pool) return;
    $('pool-title').textContent = pool.name;
    rule.show(pool);
    policy.show(pool);
    const shown = [...pool.hosts].sort(naturalCompare).slice(0, 1000);
    fillRows($('member-rows'), shown.map((h) => {
      const r = renderOf(h);
      const others = (app.poolsOf.get(h.toLowerCase()) || []).filter((n) => n !== pool.name);
      return `<tr data-host="${esc(h)}"><td>${esc(h)}</td><td>${badge(r ? r.state : 'unknown')}</td>` +
        `<td>${esc(others.join(', '))}</td>` +
        `<td><button type="button" class="small" data-remove="${esc(h)}">Remove</button></td></tr>`;
    }));
    const c = pools.stats.get(pool.name);
    $('member-count').textContent = `${c.hosts} hosts: ${c.online} online, ${c.busy} busy` +
      (c.unknown ? `, ${c.unknown} unknown to afserver` : '');
    pools.drawPicker();
  },

  /** afserver's renders matching the search, members marked. */
  drawPicker() {
    const pool = pools.current();
    if (!pool) return;
    const needle = $('render-filter').value.trim().toLowerCase();
    const onlineOnly = $('render-online').checked;
    const members = new Set(pool.hosts.map((h) => h.toLowerCase()));
    const found = app.renders.filter((r) => r.name.toLowerCase().includes(needle) && (!onlineOnly || r.online));
    const shown = found.slice(0, ROW_LIMIT);
    fillRows($('render-rows'), shown.map((r) => {
      const member = members.has(r.name.toLowerCase());
      const action = member ? '<span class="hint">member</span>'
        : `<button type="button" class="small" data-add="${esc(r.name)}">Add</button>`;
      return `<tr data-render="${esc(r.name)}"><td>${esc(r.name)}</td><td>${badge(r.state)}</td>` +
        `<td>${esc((r.pools || []).join(', '))}</td><td>${action}</td></tr>`;
    }));
    $('render-count').textContent = countText(shown.length, found.length, 'renders');
  },

  select(name) {
    pools.selected = name;
    pools.drawList();
    pools.drawDetail();
    $('rename-input').value = '';
  },

  /** Runs a write, reports its summary or error, reloads. */
  async write(run, ok) {
    try {
      const reply = await run();
      say(typeof ok === 'function' ? ok(reply) : ok, 'ok');
    } catch (e) {
      sayError(e);
      return false;
    }
    await reload();
    return true;
  },

  async create() {
    const name = $('new-pool-name').value;
    const done = await pools.write(() => api('POST', '/api/v1/pools', { name }), `created pool '${name}'`);
    if (done) { $('new-pool-name').value = ''; pools.select(name); }
  },

  async rename() {
    const old = pools.selected;
    const name = $('rename-input').value;
    const path = '/api/v1/pools/' + encodeURIComponent(old);
    const done = await pools.write(() => api('PATCH', path, { name }), `renamed pool '${old}' to '${name}'`);
    if (done) pools.select(name);
  },

  askDelete() {
    const pool = pools.current();
    $('confirm-text').textContent = `Delete pool '${pool.name}' with its ${pool.hosts.length} hosts? ` +
      'This cannot be undone.';
    $('confirm-delete').returnValue = '';
    $('confirm-delete').showModal();
  },

  async remove() {
    const name = pools.selected;
    const path = '/api/v1/pools/' + encodeURIComponent(name);
    const done = await pools.write(() => api('DELETE', path), `deleted pool '${name}'`);
    if (done) { pools.selected = null; pools.render(); $('new-pool-name').focus(); }
  },

  async addTyped() {
    const hosts = $('add-typed').value.split(/[\s,;]+/).filter((h) => h);
    if (await pools.addHosts(hosts)) $('add-typed').value = '';
  },

  addHosts(hosts) {
    const path = '/api/v1/pools/' + encodeURIComponent(pools.selected) + '/hosts';
    return pools.write(() => api('POST', path, { hosts }), (r) => r.summary);
  },

  removeHost(host) {
    const path = '/api/v1/pools/' + encodeURIComponent(pools.selected) + '/hosts';
    return pools.write(() => api('DELETE', path, { hosts: [host] }), (r) => r.summary);
  },
};

app.views.pools = pools;
