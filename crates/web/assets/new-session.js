// The "New session" dialog of the home page: kind tiles and the python / R /
// profile / cluster / queue choices from `GET /api/v1/kinds`, preset to the
// server's defaults so that Enter alone starts the default kind. Submitting
// posts `/api/v1/sessions` and hands the new session to the page.
'use strict';

const NewSessionDialog = (() => {
  const { api, el, icon } = Atelier;
  const $ = (id) => document.getElementById(id);
  let catalog = null;
  let opener = null;
  let onCreated = () => {};

  /** Loads the kinds catalog (once it succeeds) and fills the form with it. */
  async function ensureCatalog() {
    if (catalog) return catalog;
    const data = await api('GET', '/api/v1/kinds');
    catalog = normalise(data);
    fillForm(catalog);
    return catalog;
  }

  function normalise(data) {
    const list = (value) => (Array.isArray(value) ? value : []);
    return {
      kinds: list(data && data.kinds),
      python: list(data && data.python),
      r: list(data && data.r),
      profiles: list(data && data.profiles),
      clusters: list(data && data.clusters),
      defaults: (data && data.defaults) || {},
    };
  }

  /** The label of a kind by name, for the session cards. */
  function kindLabel(name) {
    const kind = catalog && catalog.kinds.find((k) => k.name === name);
    return kind && kind.label ? kind.label : name;
  }

  /** The sprite symbol for a kind: its own when the page has one. */
  function kindIconId(name) {
    return document.getElementById('kind-' + name) ? 'kind-' + name : 'kind-default';
  }

  function tile(kind, checked) {
    const reasonId = 'kind-reason-' + kind.name;
    const available = kind.available !== false;
    const reason = available ? null : kind.reason || 'Not available on this server.';
    return el('label', { class: 'tile' },
      el('input', {
        type: 'radio', name: 'kind', value: kind.name,
        checked, disabled: !available,
        'aria-describedby': reason ? reasonId : null,
      }),
      el('span', { class: 'tile-body' },
        icon(kindIconId(kind.name), 'kind-icon'),
        el('span', { class: 'tile-label', text: kind.label || kind.name }),
        reason ? el('span', { class: 'tile-reason', id: reasonId, text: reason }) : null));
  }

  function defaultKind(cat) {
    const usable = cat.kinds.filter((k) => k.available !== false);
    const preferred = usable.find((k) => k.name === cat.defaults.kind);
    return (preferred || usable[0] || {}).name;
  }

  function fillTiles(cat) {
    const chosen = defaultKind(cat);
    const tiles = $('kind-tiles');
    tiles.replaceChildren(...cat.kinds.map((k) => tile(k, k.name === chosen)));
    if (!chosen) showError('No session kind is available on this server right now.');
    $('new-submit').disabled = !chosen;
  }

  /**
   * Fills a select and shows its field when `items` is non-empty. Items
   * marked unavailable stay listed but disabled, with their reason. Without a
   * default, a first "Server default" entry sends nothing.
   */
  function fillSelect(key, items, describe, preferred) {
    const field = $('field-' + key);
    const select = $('new-' + key);
    field.hidden = items.length === 0;
    const options = items.map((item) => {
      const usable = item.available !== false;
      const text = describe(item) + (usable ? '' : ` (unavailable: ${item.reason || 'not installed'})`);
      return el('option', { value: item.name, disabled: !usable, text });
    });
    const hasDefault = items.some((i) => i.name === preferred && i.available !== false);
    if (!hasDefault) options.unshift(el('option', { value: '', text: 'Server default' }));
    select.replaceChildren(...options);
    select.value = hasDefault ? preferred : '';
  }

  function describeProfile(profile) {
    const parts = [];
    if (profile.cpus) parts.push(`${profile.cpus} CPU${profile.cpus === 1 ? '' : 's'}`);
    if (profile.memory) parts.push(`${profile.memory} memory`);
    return parts.length ? `${profile.name} (${parts.join(', ')})` : profile.name;
  }

  function describeCluster(cluster) {
    const backend = cluster.backend && cluster.backend !== cluster.name ? cluster.backend : '';
    const down = cluster.state === 'unreachable' ? 'not answering' : '';
    const notes = [backend, down].filter(Boolean).join(', ');
    return notes ? `${cluster.name} (${notes})` : cluster.name;
  }

  /** A queue with the size of its largest node and its time limit. */
  function describeQueue(queue) {
    const parts = [];
    if (queue.cpus) parts.push(`${queue.cpus} CPU${queue.cpus === 1 ? '' : 's'}`);
    if (queue.memory_mib) parts.push(`${Math.floor(queue.memory_mib / 1024)}G`);
    if (queue.time_limit) parts.push(`up to ${queue.time_limit}`);
    const name = queue.default ? `${queue.name} (default)` : queue.name;
    return parts.length ? `${name}: ${parts.join(', ')}` : name;
  }

  /** Shows the queue select when the chosen cluster has queues. */
  function fillQueues() {
    const cluster = catalog.clusters.find((c) => c.name === $('new-cluster').value);
    const queues = (cluster && Array.isArray(cluster.queues) ? cluster.queues : [])
      .map((q) => (typeof q === 'string' ? { name: q } : q));
    const preferred = cluster && cluster.default_queue;
    fillSelect('queue', queues, describeQueue, preferred);
  }

  function fillForm(cat) {
    fillTiles(cat);
    const d = cat.defaults;
    fillSelect('python', cat.python, (p) => p.name, d.python);
    fillSelect('r', cat.r, (r) => r.name, d.r);
    fillSelect('profile', cat.profiles, describeProfile, d.profile);
    fillSelect('cluster', cat.clusters, describeCluster, d.cluster);
    fillQueues();
  }

  function showError(message) {
    $('new-error').textContent = message;
  }

  /** The request body: the chosen kind plus every non-empty choice. */
  function request() {
    const checked = document.querySelector('#kind-tiles input[name="kind"]:checked');
    const body = { kind: checked ? checked.value : '' };
    const name = $('new-name').value.trim();
    if (name) body.name = name;
    for (const key of ['python', 'r', 'profile', 'cluster', 'queue']) {
      const field = $('field-' + key);
      const value = $('new-' + key).value;
      if (!field.hidden && value) body[key] = value;
    }
    return body;
  }

  async function submit(event) {
    event.preventDefault();
    const body = request();
    if (!body.kind) {
      showError('Choose a kind of session to start.');
      return;
    }
    const button = $('new-submit');
    button.disabled = true;
    button.textContent = 'Starting…';
    showError('');
    try {
      const session = await api('POST', '/api/v1/sessions', body);
      $('new-name').value = '';
      close();
      onCreated(session);
    } catch (error) {
      showError(error.message);
    } finally {
      button.disabled = false;
      button.textContent = 'Start';
    }
  }

  /** Opens the dialog, loading the catalog first if need be. */
  async function open() {
    opener = document.activeElement;
    const dialog = $('new-dialog');
    showError('');
    dialog.showModal();
    try {
      await ensureCatalog();
    } catch (error) {
      showError('The session kinds could not be loaded: ' + error.message);
      $('new-submit').disabled = true;
    }
    $('new-name').focus();
  }

  function close() {
    const dialog = $('new-dialog');
    if (dialog.open) dialog.close();
  }

  /** Wires the dialog. `created(session)` runs after a successful start. */
  function setup(created) {
    onCreated = created;
    $('new-form').addEventListener('submit', submit);
    $('new-cancel').addEventListener('click', close);
    $('new-close').addEventListener('click', close);
    $('new-cluster').addEventListener('change', fillQueues);
    $('new-dialog').addEventListener('close', () => {
      if (opener && document.contains(opener)) opener.focus();
    });
  }

  return { setup, open, ensureCatalog, kindLabel, kindIconId };
})();
