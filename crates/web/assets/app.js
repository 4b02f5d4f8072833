// Atelier's shared browser helpers, loaded by every page before its own
// script: the JSON API client (CSRF header, error parsing, 401 redirect),
// safe DOM building (textContent only, never innerHTML with server data),
// time formatting, session and job state badges, screen-reader announcements,
// the page header and the live event stream. Everything hangs off one
// global, `Atelier`.
'use strict';

const Atelier = (() => {
  let csrfToken = null;

  /** The path to come back to after logging in: this page, with its query. */
  function currentPath() {
    return location.pathname + location.search;
  }

  /** Sends the browser to the login page, asking it to come back here. */
  function toLogin() {
    location.assign('/login?next=' + encodeURIComponent(currentPath()));
  }

  /**
   * Calls the JSON API. Non-GET requests carry the CSRF token. Resolves to the
   * parsed body (null for an empty one); rejects with an Error whose message is
   * the server's `error.message`, with `status`, `code` and `retryAfter` set.
   * A 401 sends the browser to the login page unless `opts.noRedirect`.
   */
  async function api(method, path, body, opts = {}) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && method !== 'HEAD' && csrfToken) {
      headers['X-Atelier-CSRF'] = csrfToken;
    }
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      const error = new Error('Atelier could not be reached. Check your connection and try again.');
      error.status = 0;
      error.code = 'network';
      throw error;
    }
    const data = await readJson(response);
    if (response.ok) return data;
    if (response.status === 401 && !opts.noRedirect) {
      toLogin();
    }
    throw apiError(response, data);
  }

  async function readJson(response) {
    const text = await response.text();
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }

  function apiError(response, data) {
    const detail = data && data.error ? data.error : {};
    const message = typeof detail.message === 'string' && detail.message
      ? detail.message
      : `The server answered ${response.status} ${response.statusText}`.trim();
    const error = new Error(message);
    error.status = response.status;
    error.code = typeof detail.code === 'string' ? detail.code : 'http_' + response.status;
    const retry = Number.parseInt(response.headers.get('Retry-After') || '', 10);
    error.retryAfter = Number.isFinite(retry) ? retry : null;
    return error;
  }

  /** Loads the signed-in user and keeps their CSRF token for later calls. */
  async function loadMe() {
    const me = await api('GET', '/api/v1/me');
    csrfToken = me.csrf_token;
    return me;
  }

  // ---- DOM building ----

  /**
   * Creates an element. `props` keys: `class`, `text` (textContent),
   * `dataset` (object), `on<Event>` (listener), anything else an attribute
   * (skipped when null/false). Children may be nodes, strings or null.
   */
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key.startsWith('on') && typeof value === 'function') {
        node.addEventListener(key.slice(2).toLowerCase(), value);
      } else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** An inline SVG icon using a `<symbol>` of the page's sprite. */
  function icon(id, className = 'icon') {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', className);
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const use = document.createElementNS(ns, 'use');
    use.setAttribute('href', '#' + id);
    svg.append(use);
    return svg;
  }

  // ---- time ----

  /** Parses an RFC 3339 string; null for null or garbage. */
  function parseTime(text) {
    if (!text) return null;
    const date = new Date(text);
    return Number.isNaN(date.getTime()) ? null : date;
  }

  /** "just now", "5 min ago", "3 h ago", "2 days ago", or a date when older. */
  function relativeTime(date, now = Date.now()) {
    const seconds = Math.max(0, Math.round((now - date.getTime()) / 1000));
    if (seconds < 45) return 'just now';
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return `${minutes} min ago`;
    const hours = Math.round(minutes / 60);
    if (hours < 24) return `${hours} h ago`;
    const days = Math.round(hours / 24);
    if (days < 14) return days === 1 ? 'yesterday' : `${days} days ago`;
    return 'on ' + date.toLocaleDateString();
  }

  /** "4 s", "2 min 05 s", "1 h 03 min": how long since `date`. */
  function elapsed(date, now = Date.now()) {
    const seconds = Math.max(0, Math.floor((now - date.getTime()) / 1000));
    if (seconds < 60) return `${seconds} s`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
    return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
  }

  /**
   * A `<time>` showing "prefix 5 min ago", the exact time as its tooltip, and
   * marked so `refreshTimes` keeps it current.
   */
  function timeEl(text, prefix = '') {
    const date = parseTime(text);
    if (!date) return null;
    const node = el('time', {
      datetime: date.toISOString(),
      title: date.toLocaleString(),
      dataset: { relative: prefix },
    });
    node.textContent = (prefix ? prefix + ' ' : '') + relativeTime(date);
    return node;
  }

  /** Re-renders every relative `<time>` and ticking elapsed counter in `root`. */
  function refreshTimes(root = document) {
    const now = Date.now();
    for (const node of root.querySelectorAll('time[data-relative]')) {
      const date = parseTime(node.getAttribute('datetime'));
      const prefix = node.dataset.relative;
      if (date) node.textContent = (prefix ? prefix + ' ' : '') + relativeTime(date, now);
    }
    for (const node of root.querySelectorAll('[data-elapsed-since]')) {
      const date = parseTime(node.dataset.elapsedSince);
      if (date) node.textContent = elapsed(date, now);
    }
  }

  // ---- sessions ----

  const STATE_LABELS = {
    pending: 'Pending',
    starting: 'Starting',
    running: 'Running',
    stopping: 'Stopping',
    stopped: 'Stopped',
    failed: 'Failed',
    lost: 'Lost',
  };

  /** True while a session may still hold a process (and so can be stopped). */
  function isActive(state) {
    return ['pending', 'starting', 'running', 'stopping'].includes(state);
  }

  /** True once a session has ended and may be removed from the list. */
  function isEnded(state) {
    return ['stopped', 'failed', 'lost'].includes(state);
  }

  /** The state badge: text plus a shape, never colour alone. */
  function stateBadge(state) {
    return el('span', { class: 'badge', dataset: { state }, text: STATE_LABELS[state] || state });
  }

  // ---- jobs ----

  const JOB_STATE_LABELS = {
    pending: 'Pending',
    running: 'Running',
    finished: 'Finished',
    failed: 'Failed',
    canceled: 'Canceled',
  };

  /** True while a job may still run (and so can be canceled). */
  function isJobActive(state) {
    return state === 'pending' || state === 'running';
  }

  /** A job's state badge: text plus a shape, never colour alone. */
  function jobBadge(state) {
    return el('span', { class: 'badge', dataset: { state }, text: JOB_STATE_LABELS[state] || state });
  }

  /**
   * How long a job ran: ticking (see `refreshTimes`) while it runs, fixed once
   * it ended, "not started" before it started.
   */
  function jobDuration(job) {
    const start = parseTime(job.started_at);
    if (!start) {
      return el('span', { class: 'muted' }, el('span', { 'aria-hidden': 'true', text: '—' }),
        el('span', { class: 'visually-hidden', text: 'not started' }));
    }
    const end = parseTime(job.ended_at);
    if (end) return el('span', { class: 'duration', text: elapsed(start, end.getTime()) });
    if (!isJobActive(job.state)) return el('span', { class: 'muted', text: 'unknown' });
    return el('span', {
      class: 'elapsed', dataset: { elapsedSince: job.started_at }, text: elapsed(start),
    });
  }

  /** An argument vector as one line, quoting the arguments a shell would split. */
  function commandLine(argv) {
    return (argv || []).map((arg) => (/^[\w@%+=:,./-]+$/.test(arg)
      ? arg
      : `'${arg.replace(/'/g, "'\\''")}'`)).join(' ');
  }

  // ---- page chrome ----

  /** Says `text` to screen readers through the page's polite live region. */
  function announce(text) {
    const region = document.getElementById('announcer');
    if (!region) return;
    region.textContent = '';
    // A fresh text node after a tick makes repeated messages heard again.
    setTimeout(() => { region.textContent = text; }, 50);
  }

  /** Fills the header: user name, Admin link for admins, and Log out. */
  function setupHeader(me) {
    const name = document.getElementById('user-name');
    if (name) name.textContent = me.name;
    const admin = document.getElementById('admin-link');
    if (admin) admin.hidden = me.role !== 'admin';
    const logout = document.getElementById('logout');
    if (logout) {
      logout.addEventListener('click', async () => {
        logout.disabled = true;
        try {
          await api('POST', '/api/v1/auth/logout');
        } catch {
          // Whatever the server said, the way forward is the login page.
        }
        location.assign('/login');
      });
    }
  }

  /**
   * Follows the server's event stream. Handlers: `onOpen` (on every
   * (re)connect: refresh the full list there), `onSession(session)`,
   * `onRemoved(id)`, `onStatus('live' | 'reconnecting')`, and `events`, an
   * object of further handlers by event name (`{ job: (data) => … }`) that
   * get the parsed data. EventSource retries
   * by itself; when it gives up (e.g. the login expired) this checks the
   * login, which redirects on 401, and reconnects after a pause.
   */
  function liveEvents(url, handlers) {
    let source = null;
    const status = (s) => handlers.onStatus && handlers.onStatus(s);
    const connect = () => {
      source = new EventSource(url, { withCredentials: true });
      source.addEventListener('open', () => {
        status('live');
        if (handlers.onOpen) handlers.onOpen();
      });
      source.addEventListener('error', () => {
        status('reconnecting');
        if (source.readyState === EventSource.CLOSED) {
          api('GET', '/api/v1/me').catch(() => {});
          setTimeout(connect, 5000);
        }
      });
      source.addEventListener('session', (event) => {
        const session = parseEventData(event);
        if (session && session.id) handlers.onSession(session);
      });
      source.addEventListener('session-removed', (event) => {
        const data = parseEventData(event);
        if (data && data.id) handlers.onRemoved(data.id);
      });
      for (const [name, handler] of Object.entries(handlers.events || {})) {
        source.addEventListener(name, (event) => {
          const data = parseEventData(event);
          if (data) handler(data);
        });
      }
    };
    connect();
    return () => source && source.close();
  }

  function parseEventData(event) {
    try {
      return JSON.parse(event.data);
    } catch {
      return null;
    }
  }

  /**
   * The page to go to after logging in: `raw` when it is a path on this site
   * (starts with one `/`, no backslash, no control characters), else `/`.
   */
  function safeNext(raw) {
    if (typeof raw !== 'string' || !raw.startsWith('/') || raw.startsWith('//')) return '/';
    if (/[\\\u0000-\u001f\u007f]/.test(raw)) return '/';
    try {
      const url = new URL(raw, location.origin);
      if (url.origin !== location.origin) return '/';
      return url.pathname + url.search + url.hash;
    } catch {
      return '/';
    }
  }

  return {
    api, loadMe, toLogin, el, icon, parseTime, relativeTime, elapsed, timeEl,
    refreshTimes, STATE_LABELS, isActive, isEnded, stateBadge, JOB_STATE_LABELS,
    isJobActive, jobBadge, jobDuration, commandLine, announce, setupHeader, liveEvents, safeNext,
  };
})();
