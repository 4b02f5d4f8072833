// The home page: the Sessions and Jobs tabs. This file runs the Sessions
// tab (the signed-in user's sessions as cards, kept current by the server's
// event stream, with Open / Stop / Remove / Show log actions) and hands job
// events to the Jobs tab (jobs.js). A session started from this page opens
// in a new tab once it runs, if the browser allows pop-ups; otherwise its
// Open button is highlighted.
'use strict';

(() => {
  const { api, el, icon, timeEl, announce } = Atelier;
  const $ = (id) => document.getElementById(id);
  const list = $('sessions');
  /** Sessions by id, as last heard from the server. */
  const sessions = new Map();
  /** Per-card view state by id: { logOpen, log, attention }. */
  const views = new Map();
  /** Ids of sessions started from this page that have not run yet. */
  const justStarted = new Set();
  const RANK = { pending: 0, starting: 1, running: 2, lost: 2, stopping: 3, stopped: 4, failed: 4 };
  let me = null;
  let loaded = false;

  const view = (id) => {
    if (!views.has(id)) views.set(id, { logOpen: false, log: null, attention: false });
    return views.get(id);
  };
  const quoted = (s) => `“${s.name}”`;
  const createdMs = (s) => (Atelier.parseTime(s.created_at) || new Date(0)).getTime();

  // ---- card building ----

  function facts(s) {
    const resources = [s.profile, s.limits && `(${s.limits})`].filter(Boolean).join(' ');
    const where = s.state === 'running' && s.detail ? `${s.cluster} (${s.detail})` : s.cluster;
    const rows = [['Python', s.python], ['R', s.r], ['Resources', resources], ['Cluster', where]]
      .filter(([, value]) => value);
    if (rows.length === 0) return null;
    return el('dl', { class: 'facts' },
      rows.map(([term, value]) => [el('dt', { text: term }), el('dd', { text: value })]));
  }

  function times(s) {
    if (s.state === 'pending' || s.state === 'starting') {
      // On a cluster with a queue, the detail says where it stands (e.g.
      // "Slurm job 12: waiting for resources").
      const step = s.detail ? `${s.detail}. ` : 'Starting… ';
      return el('p', { class: 'times', role: 'status' }, step,
        el('span', {
          class: 'elapsed',
          dataset: { elapsedSince: s.created_at },
          text: Atelier.elapsed(Atelier.parseTime(s.created_at) || new Date()),
        }));
    }
    const parts = [];
    if (s.started_at) parts.push(timeEl(s.started_at, 'started'));
    else parts.push(timeEl(s.created_at, 'requested'));
    if (Atelier.isEnded(s.state) && s.ended_at) parts.push(timeEl(s.ended_at, 'ended'));
    else if (s.last_active_at) parts.push(timeEl(s.last_active_at, 'last active'));
    const items = parts.filter(Boolean);
    return el('p', { class: 'times' }, items.flatMap((node, i) => (i ? [' · ', node] : [node])));
  }

  function errorText(s) {
    const ended = s.state === 'failed' || s.state === 'lost';
    if (!s.error && !ended) return null;
    const hasExit = s.exit_code !== null && s.exit_code !== undefined;
    const exit = hasExit ? ` (exit code ${s.exit_code})` : '';
    // A reason on a stopped session (idle, too old, out of memory) is a note, not a failure.
    const kind = s.state === 'stopped' ? 'card-note' : 'card-error';
    return el('p', { class: kind, text: (s.error || 'The session ended unexpectedly.') + exit });
  }

  function hidden(text) {
    return el('span', { class: 'visually-hidden', text });
  }

  function openControl(s, v) {
    if (s.state === 'running' && s.url) {
      return el('a', {
        class: 'button small ' + (v.attention ? 'primary attention' : 'primary'),
        href: s.url, target: '_blank', rel: 'noopener', dataset: { focus: 'open' },
        onclick: () => { v.attention = false; },
      }, icon('icon-external'), 'Open', hidden(` ${quoted(s)} in a new tab`));
    }
    // A link cannot be disabled: without href it is inert and skipped by Tab.
    return el('a', { class: 'button small', role: 'link', 'aria-disabled': 'true' },
      icon('icon-external'), 'Open', hidden(` ${quoted(s)} (not running yet)`));
  }

  function actions(s, v) {
    const row = el('div', { class: 'actions' });
    if (Atelier.isActive(s.state)) {
      row.append(openControl(s, v));
      const stopping = s.state === 'stopping';
      row.append(el('button', {
        type: 'button', class: 'button small danger', disabled: stopping,
        dataset: { focus: 'stop' }, onclick: (e) => stop(s, e.currentTarget),
      }, icon('icon-stop'), stopping ? 'Stopping…' : 'Stop', hidden(' ' + quoted(s))));
    }
    if (Atelier.isEnded(s.state)) {
      row.append(el('button', {
        type: 'button', class: 'button small', dataset: { focus: 'remove' },
        onclick: (e) => remove(s, e.currentTarget),
      }, icon('icon-trash'), 'Remove', hidden(' ' + quoted(s))));
    }
    if (s.state === 'failed' || s.state === 'lost') {
      row.append(el('button', {
        type: 'button', class: 'button small', 'aria-expanded': String(v.logOpen),
        'aria-controls': 'log-' + s.id, dataset: { focus: 'log' },
        onclick: () => toggleLog(s),
      }, icon('icon-log'), v.logOpen ? 'Hide log' : 'Show log', hidden(' of ' + quoted(s))));
    }
    return row;
  }

  function logBlock(s, v) {
    if (!(s.state === 'failed' || s.state === 'lost') || !v.logOpen) return null;
    const text = v.log === null ? 'Loading the log…' : v.log || '(The log is empty.)';
    return el('pre', { class: 'log', id: 'log-' + s.id, tabindex: '0', 'aria-label': 'Log of ' + quoted(s), text });
  }

  function card(s) {
    const v = view(s.id);
    const titleId = 'title-' + s.id;
    const note = v.attention && s.state === 'running'
      ? el('p', { class: 'muted', text: 'Your browser blocked the new tab. Use Open to go to the session.' })
      : null;
    return el('li', { dataset: { id: s.id } },
      el('article', { class: 'card', 'aria-labelledby': titleId },
        el('div', { class: 'card-head' },
          icon(NewSessionDialog.kindIconId(s.kind), 'kind-icon'),
          el('div', { class: 'card-title' },
            el('h3', { id: titleId, tabindex: '-1', text: s.name }),
            el('p', { class: 'muted', text: NewSessionDialog.kindLabel(s.kind) })),
          Atelier.stateBadge(s.state)),
        facts(s), times(s), errorText(s), note, actions(s, v), logBlock(s, v)));
  }

  // ---- list upkeep ----

  /** Puts a card in place of the old one (or in created order), keeping focus. */
  function render(s) {
    const old = list.querySelector(`li[data-id="${CSS.escape(s.id)}"]`);
    const fresh = card(s);
    if (old) {
      const focused = old.contains(document.activeElement) ? document.activeElement : null;
      const pre = old.querySelector('pre.log');
      old.replaceWith(fresh);
      const newPre = fresh.querySelector('pre.log');
      if (pre && newPre) newPre.scrollTop = pre.scrollTop;
      if (focused) restoreFocus(fresh, focused);
    } else {
      const after = [...list.children].find((li) => {
        const other = sessions.get(li.dataset.id);
        return other && createdMs(other) < createdMs(s);
      });
      list.insertBefore(fresh, after || null);
    }
  }

  function restoreFocus(fresh, focused) {
    const key = focused.dataset && focused.dataset.focus;
    const target = (key && fresh.querySelector(`[data-focus="${key}"]:not(:disabled)`))
      || fresh.querySelector('h3');
    target.focus();
  }

  function updateEmpty() {
    $('loading').hidden = true;
    $('empty').hidden = sessions.size > 0;
  }

  /** Records and shows a session; announces changes when `announceIt`. */
  function upsert(s, announceIt) {
    if (me && s.user && s.user !== me.name) return;
    const before = sessions.get(s.id);
    sessions.set(s.id, s);
    render(s);
    updateEmpty();
    if (before && before.state !== s.state) onStateChange(s, announceIt);
    else if (!before && announceIt) announce(`${quoted(s)} is ${Atelier.STATE_LABELS[s.state] || s.state}.`);
  }

  /** Applies a session from an action's answer unless the stream already moved past it. */
  function applyAnswer(s) {
    const known = sessions.get(s.id);
    if (known && (RANK[known.state] || 0) > (RANK[s.state] || 0)) return;
    upsert(s, false);
  }

  function onStateChange(s, announceIt) {
    if (s.state === 'running' && justStarted.has(s.id)) {
      justStarted.delete(s.id);
      openInNewTab(s);
      return;
    }
    if (Atelier.isEnded(s.state)) justStarted.delete(s.id);
    if (!announceIt) return;
    const extra = s.state === 'failed' && s.error ? ': ' + s.error.replace(/\.+$/, '') : '';
    announce(`${quoted(s)} is now ${(Atelier.STATE_LABELS[s.state] || s.state).toLowerCase()}${extra}.`);
  }

  /** Opens a just-started session if pop-ups are allowed, else highlights Open. */
  function openInNewTab(s) {
    const tab = window.open(s.url, '_blank');
    if (tab) {
      tab.opener = null;
      announce(`${quoted(s)} is running and opened in a new tab.`);
      return;
    }
    view(s.id).attention = true;
    render(s);
    announce(`${quoted(s)} is running. The browser blocked the new tab: use its Open button.`);
  }

  function forget(id) {
    const li = list.querySelector(`li[data-id="${CSS.escape(id)}"]`);
    const s = sessions.get(id);
    sessions.delete(id);
    views.delete(id);
    justStarted.delete(id);
    if (li) {
      const hadFocus = li.contains(document.activeElement);
      const next = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      if (hadFocus) (next ? next.querySelector('h3') : $('new-session')).focus();
    }
    if (s) announce(`${quoted(s)} was removed.`);
    updateEmpty();
  }

  /** Replaces the whole list with the server's, e.g. after a reconnect. */
  async function refresh() {
    try {
      const data = await api('GET', '/api/v1/sessions');
      const fresh = Array.isArray(data && data.sessions) ? data.sessions : [];
      const ids = new Set(fresh.map((s) => s.id));
      for (const id of [...sessions.keys()]) if (!ids.has(id)) forget(id);
      fresh.sort((a, b) => createdMs(b) - createdMs(a));
      for (const s of fresh) upsert(s, loaded);
      loaded = true;
      updateEmpty();
      $('page-error').textContent = '';
    } catch (error) {
      $('page-error').textContent = 'Your sessions could not be loaded: ' + error.message;
    }
  }

  // ---- actions ----

  /** Marks a button busy without disabling it, so keyboard focus stays put. */
  function claim(button) {
    if (button.getAttribute('aria-disabled') === 'true') return false;
    button.setAttribute('aria-disabled', 'true');
    return true;
  }

  async function stop(s, button) {
    if (!claim(button)) return;
    try {
      applyAnswer(await api('POST', `/api/v1/sessions/${encodeURIComponent(s.id)}/stop`));
    } catch (error) {
      button.removeAttribute('aria-disabled');
      announce(`${quoted(s)} could not be stopped: ${error.message}`);
      $('page-error').textContent = `${quoted(s)} could not be stopped: ${error.message}`;
    }
  }

  async function remove(s, button) {
    if (!claim(button)) return;
    try {
      await api('DELETE', `/api/v1/sessions/${encodeURIComponent(s.id)}`);
      forget(s.id);
    } catch (error) {
      button.removeAttribute('aria-disabled');
      $('page-error').textContent = `${quoted(s)} could not be removed: ${error.message}`;
    }
  }

  async function toggleLog(s) {
    const v = view(s.id);
    v.logOpen = !v.logOpen;
    if (!v.logOpen) {
      render(sessions.get(s.id) || s);
      return;
    }
    v.log = null;
    render(sessions.get(s.id) || s);
    try {
      const data = await api('GET', `/api/v1/sessions/${encodeURIComponent(s.id)}/log`);
      v.log = data && typeof data.log === 'string' ? data.log : '';
    } catch (error) {
      v.log = 'The log could not be loaded: ' + error.message;
    }
    if (sessions.has(s.id)) render(sessions.get(s.id));
  }

  function created(s) {
    justStarted.add(s.id);
    if (!sessions.has(s.id)) upsert(s, false);
    announce(`Starting ${quoted(s)}. It opens in a new tab when it is ready.`);
  }

  // ---- start ----

  function setConnection(status) {
    const node = $('connection');
    node.dataset.status = status;
    node.textContent = status === 'live' ? 'Live updates on' : 'Reconnecting to live updates…';
  }

  async function start() {
    Tabs.setup(document.querySelector('[role="tablist"]'));
    try {
      me = await Atelier.loadMe();
    } catch (error) {
      if (error.status !== 401) $('page-error').textContent = error.message;
      return;
    }
    Atelier.setupHeader(me);
    NewSessionDialog.setup(created);
    $('new-session').addEventListener('click', () => NewSessionDialog.open());
    // Labels and icons of the cards come from the catalog; load it early.
    await NewSessionDialog.ensureCatalog().catch(() => {});
    await Promise.all([refresh(), JobsPanel.setup(me)]);
    Atelier.liveEvents('/api/v1/events', {
      onOpen: () => Promise.all([refresh(), JobsPanel.refresh()]),
      onStatus: setConnection,
      onSession: (s) => upsert(s, true),
      onRemoved: forget,
      events: { job: JobsPanel.onJob, 'job-removed': JobsPanel.onRemoved },
    });
    setInterval(() => Atelier.refreshTimes(list), 1000);
  }

  start();
})();
