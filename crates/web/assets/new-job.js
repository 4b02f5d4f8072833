// The "New job" dialog of the home page: a script (absolute path plus
// arguments, one per line) or a command (program and arguments, one per
// line), a working directory, environment additions (KEY=VALUE lines) and
// the Python / R / resources choices of `GET /api/v1/kinds`, the same lists
// the session dialog offers. Submitting posts `/api/v1/jobs`; an error is
// shown above the form and the input is kept.
'use strict';

const NewJobDialog = (() => {
  const { api, el } = Atelier;
  const $ = (id) => document.getElementById(id);
  const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
  let opener = null;
  let catalog = null;
  let onCreated = () => {};

  /** The non-blank lines of a textarea, each kept as typed (minus a CR). */
  function lines(id) {
    return $(id).value.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
  }

  function mode() {
    const checked = document.querySelector('input[name="job-mode"]:checked');
    return checked ? checked.value : 'script';
  }

  function showMode() {
    const script = mode() === 'script';
    $('job-script-fields').hidden = !script;
    $('job-command-fields').hidden = script;
  }

  /** Fills a select as the session dialog does; shows its field when non-empty. */
  function fillSelect(key, items, describe, preferred) {
    const field = $('job-field-' + key);
    const select = $('job-' + key);
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

  let clusters = [];

  /** Shows the queue select when the chosen cluster has queues. */
  function fillQueues() {
    const cluster = clusters.find((c) => c.name === $('job-cluster').value);
    const queues = cluster && Array.isArray(cluster.queues) ? cluster.queues : [];
    fillSelect('queue', queues, (q) => (q.time_limit ? `${q.name} (up to ${q.time_limit})` : q.name),
      cluster && cluster.default_queue);
  }

  function fillForm(cat) {
    const d = cat.defaults || {};
    fillSelect('python', cat.python, (p) => p.name, d.python);
    fillSelect('r', cat.r, (r) => r.name, d.r);
    fillSelect('profile', cat.profiles, describeProfile, d.profile);
    clusters = Array.isArray(cat.clusters) ? cat.clusters : [];
    // One cluster (this server) is no choice: the field shows from two on.
    fillSelect('cluster', clusters.length > 1 ? clusters : [], (c) => c.name, d.cluster);
    fillQueues();
  }

  /** A problem with the input: its message and the field to fix. */
  function invalid(message, field) {
    const error = new Error(message);
    error.field = field;
    return error;
  }

  function environment() {
    const env = {};
    $('job-env').value.split('\n').forEach((raw, index) => {
      const line = raw.replace(/\r$/, '');
      if (line.trim() === '') return;
      const at = line.indexOf('=');
      const key = at < 0 ? '' : line.slice(0, at).trim();
      if (!ENV_KEY.test(key)) {
        throw invalid(`Line ${index + 1} of the environment is not KEY=VALUE with a name of letters, `
          + 'digits and _ that does not start with a digit.', 'job-env');
      }
      env[key] = line.slice(at + 1);
    });
    return env;
  }

  /** The request body, or throws `invalid(...)` for input the server would refuse. */
  function request() {
    const body = {};
    const name = $('job-name').value.trim();
    if (name) body.name = name;
    if (mode() === 'script') {
      const script = $('job-script').value.trim();
      if (!script) throw invalid('Enter the path of the script to run.', 'job-script');
      if (!script.startsWith('/')) {
        throw invalid('The script path must be absolute: it starts with /.', 'job-script');
      }
      body.script = script;
      const args = lines('job-args');
      if (args.length) body.args = args;
    } else {
      const command = lines('job-command');
      if (!command.length) throw invalid('Enter the program to run on the first line.', 'job-command');
      body.command = command;
    }
    const workdir = $('job-workdir').value.trim();
    if (workdir && !workdir.startsWith('/')) {
      throw invalid('The working directory must be an absolute path: it starts with /.', 'job-workdir');
    }
    if (workdir) body.workdir = workdir;
    const env = environment();
    if (Object.keys(env).length) body.env = env;
    for (const key of ['python', 'r', 'profile', 'cluster', 'queue']) {
      const value = $('job-' + key).value;
      if (!$('job-field-' + key).hidden && value) body[key] = value;
    }
    return body;
  }

  function showError(message, fieldId) {
    $('job-error').textContent = message;
    for (const node of $('job-form').querySelectorAll('[aria-invalid]')) {
      node.removeAttribute('aria-invalid');
      node.removeAttribute('aria-errormessage');
    }
    if (!fieldId) return;
    const field = $(fieldId);
    field.setAttribute('aria-invalid', 'true');
    field.setAttribute('aria-errormessage', 'job-error');
    field.focus();
  }

  /** The field a server message is about, when it starts with its name ("script: …"). */
  function fieldOf(message) {
    const match = /^(script|args|command|workdir|env)\b/.exec(message || '');
    if (!match) return null;
    if (match[1] === 'args' || match[1] === 'script') return mode() === 'script' ? 'job-' + match[1] : null;
    return 'job-' + match[1];
  }

  async function submit(event) {
    event.preventDefault();
    let body;
    try {
      body = request();
    } catch (error) {
      showError(error.message, error.field);
      return;
    }
    const button = $('job-submit');
    if (button.getAttribute('aria-disabled') === 'true') return;
    button.setAttribute('aria-disabled', 'true');
    button.textContent = 'Submitting…';
    showError('');
    try {
      const job = await api('POST', '/api/v1/jobs', body);
      $('job-form').reset();
      showMode();
      if (catalog) fillForm(catalog);
      close();
      onCreated(job);
    } catch (error) {
      showError(error.message, fieldOf(error.message));
    } finally {
      button.removeAttribute('aria-disabled');
      button.textContent = 'Run';
    }
  }

  /** Opens the dialog, loading the catalog (shared with the session dialog) first. */
  async function open() {
    opener = document.activeElement;
    $('job-dialog').showModal();
    showError('');
    if (!catalog) {
      try {
        catalog = await NewSessionDialog.ensureCatalog();
        fillForm(catalog);
      } catch (error) {
        showError('The Python, R and resource lists could not be loaded: ' + error.message
          + ' The server defaults will be used.');
      }
    }
    $('job-name').focus();
  }

  function close() {
    const dialog = $('job-dialog');
    if (dialog.open) dialog.close();
  }

  /** Wires the dialog. `created(job)` runs after the server accepted a job. */
  function setup(created) {
    onCreated = created;
    $('job-form').addEventListener('submit', submit);
    $('job-cancel').addEventListener('click', close);
    $('job-close').addEventListener('click', close);
    $('job-cluster').addEventListener('change', fillQueues);
    for (const radio of document.querySelectorAll('input[name="job-mode"]')) {
      radio.addEventListener('change', showMode);
    }
    $('job-dialog').addEventListener('close', () => {
      if (opener && document.contains(opener)) opener.focus();
    });
    showMode();
  }

  return { setup, open };
})();
