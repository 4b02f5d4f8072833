// The admin page: every user's sessions in a table (filterable, with Stop),
// and the users who can sign in, kept current by the `?all=true` event
// stream. The server enforces admin rights; this page only says so nicely.
'use strict';

(() => {
  const { api, el, icon, timeEl, announce } = Atelier;
  const $ = (id) => document.getElementById(id);
  /** Every session by id, as last heard from the server. */
  const sessions = new Map();
  let users = null;
  let kindLabels = new Map();

  const quoted = (s) => `“${s.name}”`;
  const createdMs = (s) => (Atelier.parseTime(s.created_at) || new Date(0)).getTime();

  // ---- sessions table ----

  function matchesFilter(s) {
    if ($('active-only').checked && !Atelier.isActive(s.state)) return false;
    const needle = $('filter').value.trim().toLowerCase();
    if (!needle) return true;
    return [s.user, s.name, s.node, s.kind].some((v) => v && v.toLowerCase().includes(needle));
  }

  function stopButton(s) {
    if (!Atelier.isActive(s.state)) return null;
    const stopping = s.state === 'stopping';
    return el('button', {
      type: 'button', class: 'button small danger', disabled: stopping,
      dataset: { focus: 'stop-' + s.id }, onclick: (e) => stop(s, e.currentTarget),
    }, icon('icon-stop'), stopping ? 'Stopping…' : 'Stop',
    el('span', { class: 'visually-hidden', text: ` ${s.user}'s session ${quoted(s)}` }));
  }

  function sessionRow(s) {
    const title = s.error ? `${s.state}: ${s.error}` : null;
    return el('tr', { dataset: { id: s.id } },
      el('td', { text: s.user }),
      el('td', { text: kindLabels.get(s.kind) || s.kind }),
      el('td', { class: 'wrap', text: s.name }),
      el('td', { title }, Atelier.stateBadge(s.state),
        s.error ? el('span', { class: 'visually-hidden', text: ': ' + s.error }) : null),
      el('td', { text: s.node || '—' }),
      el('td', {}, timeEl(s.created_at) || '—'),
      el('td', {}, timeEl(s.last_active_at) || el('span', { class: 'muted', text: 'none yet' })),
      el('td', {}, stopButton(s)));
  }

  function renderSessions() {
    const body = $('sessions-body');
    const focusKey = body.contains(document.activeElement) && document.activeElement.dataset.focus;
    const all = [...sessions.values()];
    const shown = all.filter(matchesFilter).sort((a, b) => createdMs(b) - createdMs(a));
    const rows = shown.map(sessionRow);
    if (rows.length === 0) {
      const text = all.length ? 'No session matches the filter.' : 'Nobody has a session.';
      rows.push(el('tr', {}, el('td', { colspan: '8', class: 'muted', text })));
    }
    body.replaceChildren(...rows);
    const active = all.filter((s) => Atelier.isActive(s.state)).length;
    $('sessions-count').textContent = `(${active} active, ${all.length} in all)`;
    if (focusKey) {
      const again = body.querySelector(`[data-focus="${CSS.escape(focusKey)}"]:not(:disabled)`);
      (again || $('sessions-wrap')).focus();
    }
    renderUsers();
  }

  // ---- users table ----

  function renderUsers() {
    if (!users) return;
    const active = new Map();
    for (const s of sessions.values()) {
      if (Atelier.isActive(s.state)) active.set(s.user, (active.get(s.user) || 0) + 1);
    }
    const rows = users.map((u) => el('tr', {},
      el('td', { text: u.name }),
      el('td', { text: u.role === 'admin' ? 'Administrator' : 'User' }),
      el('td', { text: String(active.get(u.name) || 0) })));
    if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: '3', class: 'muted', text: 'No users.' })));
    $('users-body').replaceChildren(...rows);
    $('users-count').textContent = `(${users.length})`;
  }

  async function loadUsers() {
    try {
      const data = await api('GET', '/api/v1/users');
      users = Array.isArray(data && data.users) ? data.users : [];
      users.sort((a, b) => a.name.localeCompare(b.name));
      renderUsers();
    } catch (error) {
      $('users-body').replaceChildren(el('tr', {},
        el('td', { colspan: '3', class: 'card-error', text: 'The users could not be loaded: ' + error.message })));
    }
  }

  // ---- clusters ----

  let clusters = [];

  function queueText(q) {
    const size = [q.cpus ? `${q.cpus} CPUs` : '', q.memory_mib ? `${Math.floor(q.memory_mib / 1024)}G` : '']
      .filter(Boolean).join(', ');
    return `${q.name}${q.default ? ' (default)' : ''}${size ? ` [${size}, ${q.time_limit}]` : ''}`;
  }

  function renderClusters() {
    const active = new Map();
    for (const s of sessions.values()) {
      if (Atelier.isActive(s.state)) active.set(s.cluster, (active.get(s.cluster) || 0) + 1);
    }
    const rows = clusters.map((c) => el('tr', {},
      el('th', { scope: 'row', text: c.name }),
      el('td', { text: c.backend }),
      el('td', { class: c.state === 'ok' ? '' : 'card-error',
        text: c.state === 'ok' ? 'Answering' : `Not answering: ${c.error || 'unknown error'}` }),
      el('td', { text: (c.queues || []).map(queueText).join('; ') || '—' }),
      el('td', { text: String(active.get(c.name) || 0) }),
      el('td', { text: c.backend === 'local' ? '—' : String(c.commands_run ?? '—') })));
    $('clusters-body').replaceChildren(...rows);
    $('clusters-count').textContent = `(${clusters.length})`;
  }

  async function loadClusters() {
    try {
      const data = await api('GET', '/api/v1/clusters');
      clusters = Array.isArray(data && data.clusters) ? data.clusters : [];
      renderClusters();
    } catch (error) {
      $('clusters-body').replaceChildren(el('tr', {},
        el('td', { colspan: '6', class: 'card-error', text: 'The clusters could not be loaded: ' + error.message })));
    }
  }

  // ---- live data ----

  function upsert(s) {
    const before = sessions.get(s.id);
    sessions.set(s.id, s);
    renderSessions();
    if (clusters.length) renderClusters();
    if (before && before.state !== s.state) {
      announce(`${s.user}'s session ${quoted(s)} is now ${s.state}.`);
    }
  }

  function forget(id) {
    if (sessions.delete(id)) renderSessions();
  }

  async function refresh() {
    try {
      const data = await api('GET', '/api/v1/sessions?all=true');
      sessions.clear();
      for (const s of Array.isArray(data && data.sessions) ? data.sessions : []) sessions.set(s.id, s);
      renderSessions();
      $('page-error').textContent = '';
    } catch (error) {
      $('page-error').textContent = 'The sessions could not be loaded: ' + error.message;
    }
  }

  async function stop(s, button) {
    if (!window.confirm(`Stop ${s.user}'s session ${quoted(s)}? Unsaved work in it is lost.`)) return;
    if (button.getAttribute('aria-disabled') === 'true') return;
    button.setAttribute('aria-disabled', 'true');
    try {
      const answer = await api('POST', `/api/v1/sessions/${encodeURIComponent(s.id)}/stop`);
      const known = sessions.get(s.id);
      if (known && Atelier.isActive(known.state)) upsert(answer);
    } catch (error) {
      button.removeAttribute('aria-disabled');
      $('page-error').textContent = `${quoted(s)} could not be stopped: ${error.message}`;
    }
  }

  async function loadKindLabels() {
    try {
      const data = await api('GET', '/api/v1/kinds');
      kindLabels = new Map((data.kinds || []).map((k) => [k.name, k.label || k.name]));
    } catch {
      // Labels are a nicety: kind names are shown instead.
    }
  }

  function setConnection(status) {
    const node = $('connection');
    node.dataset.status = status;
    node.textContent = status === 'live' ? 'Live updates on' : 'Reconnecting to live updates…';
  }

  function notAdmin() {
    const main = $('main');
    main.replaceChildren(
      el('h1', { text: 'Administration' }),
      el('p', { text: 'This page is for administrators. Your account cannot see other users’ sessions.' }),
      el('p', {}, el('a', { href: '/', text: 'Back to your sessions' })));
  }

  async function start() {
    let me;
    try {
      me = await Atelier.loadMe();
    } catch (error) {
      if (error.status !== 401) $('page-error').textContent = error.message;
      return;
    }
    Atelier.setupHeader(me);
    if (me.role !== 'admin') {
      notAdmin();
      return;
    }
    $('active-only').addEventListener('change', renderSessions);
    $('filter').addEventListener('input', renderSessions);
    await loadKindLabels();
    await Promise.all([refresh(), loadUsers()]);
    await loadClusters();
    Atelier.liveEvents('/api/v1/events?all=true', {
      onOpen: refresh,
      onStatus: setConnection,
      onSession: upsert,
      onRemoved: forget,
    });
    setInterval(() => Atelier.refreshTimes($('sessions-body')), 15000);
    setInterval(loadClusters, 30000);
  }

  start();
})();
