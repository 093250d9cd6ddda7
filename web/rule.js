// afpool web page, the rule editor of the chosen pool: its select rule (CEL over afserver's render
// data) and except list, a live preview of the members they give, each with why (`static`, or
// the values the rule read), from the proxy's render list, and saving them. Windows and the time
// zone are kept as stored (`afpool pool set --during` edits them).
'use strict';

const rule = {
  pool: null, // the pool whose rule the editor holds
  stored: null, // that pool's rule and except list as stored, to tell edits apart
  timer: null,
  asked: 0, // previews asked for; only the last one's answer is drawn

  setup() {
    $('rule-input').addEventListener('input', () => rule.later());
    $('except-input').addEventListener('input', () => rule.later());
    $('rule-form').addEventListener('submit', (e) => { e.preventDefault(); rule.save(); });
  },

  /** Shows pool `p`'s rule: its stored one when another pool was chosen, else what is typed. */
  show(p) {
    if (rule.pool !== p.name) {
      rule.pool = p.name;
      $('rule-input').value = p.select || '';
      $('except-input').value = (p.except || []).join(' ');
      $('resolved-rows').replaceChildren();
      $('rule-status').textContent = '';
    }
    rule.stored = { select: p.select || '', except: (p.except || []).join(' ') };
    // A typed rule not saved yet is previewed on typing only: each preview of a new rule may
    // ask afserver for the renders' hardware, and render list changes redraw the page.
    if (!rule.edited()) rule.preview();
  },

  edited() {
    return $('rule-input').value.trim() !== rule.stored.select ||
      $('except-input').value.split(/[\s,;]+/).filter((h) => h).join(' ') !== rule.stored.except;
  },

  /** The selection the editor holds, with the pool's windows and zone as stored. */
  selection() {
    const p = pools.current();
    return {
      select: $('rule-input').value.trim() || null,
      except: $('except-input').value.split(/[\s,;]+/).filter((h) => h),
      during: (p && p.during) || {},
      time_zone: (p && p.time_zone) || null,
    };
  },

  later() {
    clearTimeout(rule.timer);
    rule.timer = setTimeout(() => rule.preview(), 250);
  },

  async preview() {
    const name = rule.pool;
    if (!name) return;
    const asked = ++rule.asked;
    const path = '/api/v1/pools/' + encodeURIComponent(name) + '/members/preview';
    const status = $('rule-status');
    try {
      const r = await api('POST', path, rule.selection());
      if (asked !== rule.asked || name !== rule.pool) return;
      rule.draw(r.members);
      const now = r.members.filter((m) => m.member_now).length;
      status.textContent = `${r.members.length} members (${r.selected} selected by the rule, ` +
        `${now} members now)` + (rule.edited() ? ' — not saved' : '');
      status.className = 'count';
    } catch (e) {
      if (asked !== rule.asked || name !== rule.pool) return;
      status.textContent = e.message;
      status.className = 'count bad';
    }
  },

  draw(members) {
    fillRows($('resolved-rows'), members.map((m) => {
      const when = m.during ? ` (${m.during.join(', ')}; ${m.member_now ? 'member now' : 'not now'})` : '';
      return `<tr data-member="${esc(m.host)}"><td>${esc(m.host)}</td><td>${esc(m.why + when)}</td>` +
        `<td>${m.listed ? 'listed' : 'not listed'}</td></tr>`;
    }));
  },

  async save() {
    const name = rule.pool;
    const path = '/api/v1/pools/' + encodeURIComponent(name) + '/selection';
    await pools.write(() => api('PUT', path, rule.selection()), (r) => r.summary);
  },
};
