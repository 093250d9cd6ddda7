// afpool web page, the "Default pool rules" tab: the rules that give a pool to jobs naming none,
// listed in order as routing reads them (GET /api/v1/rules, numbered from 1), a form that adds a
// rule at a position (POST), a remove button per rule (DELETE /api/v1/rules/N), and what jobs
// matching no rule get (PUT /api/v1/rules/otherwise: no pool, a pool, or held). The API's
// refusals (a condition that does not compile, with its line and column) show beside the forms.
'use strict';

app.views.rules = {
  drawn: '', // the otherwise last drawn (JSON), so a redraw keeps a choice being made

  setup() {
    const view = app.views.rules;
    $('dr-add-form').addEventListener('submit', (e) => { e.preventDefault(); view.add(); });
    $('dr-otherwise-form').addEventListener('submit', (e) => { e.preventDefault(); view.saveOtherwise(); });
    $('dr-rows').addEventListener('click', (e) => {
      const button = e.target.closest('button[data-index]');
      if (button) view.remove(Number(button.dataset.index));
    });
    $('dr-otherwise-name').addEventListener('input', () => { $('dr-otherwise-pool').checked = true; });
  },

  show() {
    app.views.rules.load();
  },

  /** After every load of pools and hosts: the pool names offered, and the rules if shown. */
  render() {
    const options = app.pools.map((p) => `<option value="${esc(p.name)}"></option>`);
    fillRows($('dr-pools'), options);
    if (!$('view-rules').hidden) app.views.rules.load();
  },

  async load() {
    try {
      app.views.rules.draw(await api('GET', '/api/v1/rules'));
    } catch (e) {
      sayError(e);
    }
  },

  /** Shows the rules of a GET (or write) answer. */
  draw(r) {
    const rows = r.rules.map((rule) => `<tr data-index="${rule.index}"><td class="n">${rule.index}</td>` +
      `<td><code>${esc(rule.when)}</code></td><td>${esc(rule.pool)}</td>` +
      `<td><button type="button" class="small" data-index="${rule.index}" ` +
      `title="remove rule ${rule.index}">remove</button></td></tr>`);
    if (!rows.length) rows.push('<tr><td></td><td class="hint" colspan="3">no rules</td></tr>');
    fillRows($('dr-rows'), rows);
    const otherwise = r.summary[r.summary.length - 1];
    $('dr-status').textContent = r.stored ? `${r.rules.length} rules; ${otherwise}` : otherwise;
    const drawn = JSON.stringify(r.otherwise);
    if (drawn !== app.views.rules.drawn) {
      app.views.rules.drawn = drawn;
      const o = r.otherwise;
      const kind = typeof o === 'object' && o ? 'pool' : o;
      $('dr-otherwise-' + kind).checked = true;
      $('dr-otherwise-name').value = kind === 'pool' ? o.pool : '';
    }
  },

  /** Runs a write; shows its change, or the refusal beside the forms. */
  async write(run) {
    $('dr-error').textContent = '';
    try {
      const r = await run();
      say(r.change, 'ok');
      app.views.rules.draw(r);
      return true;
    } catch (e) {
      $('dr-error').textContent = e.message;
      sayError(e);
      return false;
    }
  },

  async add() {
    const body = { when: $('dr-when').value.trim(), pool: $('dr-pool').value.trim() };
    const at = $('dr-at').value.trim();
    if (at) body.at = Number(at);
    if (await app.views.rules.write(() => api('POST', '/api/v1/rules', body))) {
      $('dr-when').value = '';
      $('dr-at').value = '';
    }
  },

  remove(index) {
    return app.views.rules.write(() => api('DELETE', '/api/v1/rules/' + index));
  },

  saveOtherwise() {
    const chosen = document.querySelector('input[name=dr-otherwise]:checked');
    const kind = chosen ? chosen.value : 'none';
    const body = kind === 'pool' ? { pool: $('dr-otherwise-name').value.trim() } : kind;
    return app.views.rules.write(() => api('PUT', '/api/v1/rules/otherwise', body));
  },
};
