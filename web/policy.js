// afpool web page, the chosen pool's policy and spill-over: the policy (who may submit, defaults
// and maxima) shown line by line as afpool reads it and edited as the JSON the API takes
// (`GET`/`PUT /api/v1/pools/NAME/policy`, `{}` clears), and the fallback pools with their
// triggers (`PUT /api/v1/pools/NAME/spill`). Refusals show the API's reason.
'use strict';

const policy = {
  pool: null, // the pool the panel holds

  setup() {
    $('policy-form').addEventListener('submit', (e) => { e.preventDefault(); policy.save(); });
    $('spill-form').addEventListener('submit', (e) => { e.preventDefault(); policy.saveSpill(); });
  },

  /** Fills the panel for pool `p` when another pool was chosen (what is typed is kept on redraws). */
  show(p) {
    if (policy.pool === p.name) return;
    policy.pool = p.name;
    $('spill-fallback').value = (p.fallback || []).join(' ');
    $('spill-below').value = p.spill_below === undefined ? '' : String(p.spill_below);
    $('spill-after').value = p.spill_after || '';
    policy.load();
  },

  async load() {
    const name = policy.pool;
    try {
      const r = await api('GET', '/api/v1/pools/' + encodeURIComponent(name) + '/policy');
      if (name !== policy.pool) return;
      $('policy-input').value = JSON.stringify(r.policy || {}, null, 2);
      policy.summary(r.summary);
    } catch (e) {
      sayError(e);
    }
  },

  summary(lines) {
    const list = lines && lines.length ? lines : ['none: anyone may submit, and jobs keep their values'];
    fillRows($('policy-rows'), list.map((l) => `<tr><td>${esc(l)}</td></tr>`));
  },

  async save() {
    let body;
    try {
      body = JSON.parse($('policy-input').value.trim() || '{}');
    } catch (e) {
      say('the policy is not JSON: ' + e.message, 'error');
      return;
    }
    const path = '/api/v1/pools/' + encodeURIComponent(policy.pool) + '/policy';
    if (await pools.write(() => api('PUT', path, body), (r) => r.summary)) policy.load();
  },

  saveSpill() {
    const fallback = $('spill-fallback').value.split(/[\s,;]+/).filter((n) => n);
    const below = $('spill-below').value.trim();
    const after = $('spill-after').value.trim();
    const body = { fallback };
    if (below) body.spill_below = Number(below);
    if (after) body.spill_after = after;
    const path = '/api/v1/pools/' + encodeURIComponent(policy.pool) + '/spill';
    return pools.write(() => api('PUT', path, body), (r) => r.summary);
  },
};
