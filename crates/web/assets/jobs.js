// The Jobs tab of the home page: the signed-in user's jobs in a table
// (name, state, exit code, started, ended, duration ticking while running),
// filtered by state and name through `GET /api/v1/jobs?state=&name=`, kept
// current by `job` and `job-removed` events, with Cancel and Remove. Choosing
// a job's name shows its output below (job-output.js).
'use strict';

const JobsPanel = (() => {
  const { api, el, icon, timeEl, announce } = Atelier;
  const $ = (id) => document.getElementById(id);
  const body = $('jobs-body');
  /** The jobs the table shows (those matching the filters), by id. */
  const jobs = new Map();
  /** Ids whose cancel request was accepted but whose end has not been heard yet. */
  const canceling = new Set();
  let me = null;
  let loaded = false;
  let requestSeq = 0;
  let filterTimer = null;

  const quoted = (job) => `“${job.name}”`;
  const createdMs = (job) => (Atelier.parseTime(job.created_at) || new Date(0)).getTime();
  const hidden = (text) => el('span', { class: 'visually-hidden', text });
  const none = (said) => [el('span', { class: 'muted', 'aria-hidden': 'true', text: '—' }), hidden(said)];

  function filters() {
    return { state: $('job-state-filter').value, name: $('job-name-filter').value.trim() };
  }

  function matches(job) {
    const f = filters();
    if (f.state && job.state !== f.state) return false;
    return !f.name || job.name.toLowerCase().includes(f.name.toLowerCase());
  }

  // ---- rows ----

  function nameCell(job) {
    const shown = JobOutput.shownId() === job.id;
    const command = Atelier.commandLine(job.command);
    return el('td', { class: 'wrap job-name' },
      el('button', {
        type: 'button', class: 'link-button', dataset: { focus: 'name' },
        'aria-controls': 'job-detail', 'aria-current': shown ? 'true' : null,
        onclick: () => select(job.id),
      }, job.name, hidden(shown ? ' (output shown below)' : ': show output')),
      command ? el('span', { class: 'job-command', text: command }) : null);
  }

  function actionsCell(job) {
    const cell = el('td', { class: 'row-actions' });
    if (Atelier.isJobActive(job.state)) {
      const busy = canceling.has(job.id);
      cell.append(el('button', {
        type: 'button', class: 'button small danger', dataset: { focus: 'cancel' },
        'aria-disabled': busy ? 'true' : null, onclick: (e) => cancel(job, e.currentTarget),
      }, icon('icon-stop'), busy ? 'Canceling…' : 'Cancel', hidden(' ' + quoted(job))));
    } else {
      cell.append(el('button', {
        type: 'button', class: 'button small', dataset: { focus: 'remove' },
        onclick: (e) => remove(job, e.currentTarget),
      }, icon('icon-trash'), 'Remove', hidden(' ' + quoted(job))));
    }
    return cell;
  }

  function row(job) {
    const hasExit = job.exit_code !== null && job.exit_code !== undefined;
    const shown = JobOutput.shownId() === job.id;
    return el('tr', { dataset: { id: job.id }, class: shown ? 'selected' : null },
      nameCell(job),
      el('td', {}, Atelier.jobBadge(job.state)),
      el('td', { class: 'num' }, hasExit ? String(job.exit_code) : none('none')),
      el('td', {}, timeEl(job.started_at) || none('not started')),
      el('td', {}, Atelier.isJobActive(job.state) ? none('not ended') : timeEl(job.ended_at) || none('unknown')),
      el('td', {}, Atelier.jobDuration(job)),
      actionsCell(job));
  }

  /** Puts a row in place of the old one (or in created order), keeping focus. */
  function render(job) {
    const old = body.querySelector(`tr[data-id="${CSS.escape(job.id)}"]`);
    const fresh = row(job);
    if (old) {
      const focused = old.contains(document.activeElement) ? document.activeElement : null;
      old.replaceWith(fresh);
      if (focused) {
        const key = focused.dataset && focused.dataset.focus;
        const target = (key && fresh.querySelector(`[data-focus="${key}"]`))
          || (key === 'name' ? null : fresh.querySelector('.row-actions button'))
          || fresh.querySelector('[data-focus="name"]');
        target.focus();
      }
      return;
    }
    const after = [...body.children].find((tr) => {
      const other = jobs.get(tr.dataset.id);
      return other && createdMs(other) < createdMs(job);
    });
    body.insertBefore(fresh, after || null);
  }

  function updateEmpty() {
    $('jobs-loading').hidden = true;
    const empty = jobs.size === 0;
    $('jobs-empty').hidden = !empty;
    $('jobs-wrap').hidden = empty;
    const f = filters();
    const filtered = Boolean(f.state || f.name);
    $('jobs-empty-title').textContent = filtered ? 'No jobs match these filters.' : 'You have no jobs.';
    $('jobs-empty-hint').replaceChildren(...(filtered
      ? ['Change the state or name filter to see other jobs.']
      : ['Choose ', el('em', { text: 'New job' }), ' to run a script or a command in the background.']));
  }

  function describe(job) {
    const label = (Atelier.JOB_STATE_LABELS[job.state] || job.state).toLowerCase();
    const exit = job.state === 'failed' && job.exit_code !== null && job.exit_code !== undefined
      ? ` with exit code ${job.exit_code}` : '';
    return `${quoted(job)} ${job.state === 'running' || job.state === 'pending' ? 'is ' : ''}${label}${exit}.`;
  }

  /** A job heard from the server (event, answer or list). */
  function upsert(job, announceIt) {
    if (me && job.user && job.user !== me.name) return;
    const before = jobs.get(job.id);
    if (!Atelier.isJobActive(job.state)) canceling.delete(job.id);
    JobOutput.update(job);
    if (matches(job)) {
      jobs.set(job.id, job);
      render(job);
    } else if (before) {
      drop(job.id);
    }
    if (announceIt && before && before.state !== job.state) announce(describe(job));
    updateEmpty();
  }

  /** Takes a row off the table, moving focus to a neighbour when it had it. */
  function drop(id) {
    jobs.delete(id);
    const tr = body.querySelector(`tr[data-id="${CSS.escape(id)}"]`);
    if (!tr) return;
    const hadFocus = tr.contains(document.activeElement);
    const next = tr.nextElementSibling || tr.previousElementSibling;
    tr.remove();
    if (hadFocus) (next ? next.querySelector('[data-focus="name"]') : $('new-job')).focus();
  }

  function forget(id) {
    const job = jobs.get(id);
    canceling.delete(id);
    drop(id);
    JobOutput.removed(id);
    if (job) announce(`${quoted(job)} was removed.`);
    updateEmpty();
  }

  /** Replaces the table with the server's list for the current filters. */
  async function refresh() {
    const seq = ++requestSeq;
    const f = filters();
    const query = new URLSearchParams();
    if (f.state) query.set('state', f.state);
    if (f.name) query.set('name', f.name);
    const qs = query.toString();
    try {
      const data = await api('GET', '/api/v1/jobs' + (qs ? '?' + qs : ''));
      if (seq !== requestSeq) return;
      const fresh = Array.isArray(data && data.jobs) ? data.jobs : [];
      const ids = new Set(fresh.map((j) => j.id));
      for (const id of [...jobs.keys()]) if (!ids.has(id)) drop(id);
      fresh.sort((a, b) => createdMs(b) - createdMs(a));
      for (const job of fresh) upsert(job, loaded);
      loaded = true;
      updateEmpty();
      $('jobs-error').textContent = '';
    } catch (error) {
      if (seq !== requestSeq) return;
      $('jobs-error').textContent = 'Your jobs could not be loaded: ' + error.message;
    }
  }

  // ---- actions ----

  /** Shows a job's output; moves focus to it when `focus`. */
  function select(id, focus = true) {
    const job = jobs.get(id);
    if (!job) return;
    const previous = JobOutput.shownId();
    if (previous === id) {
      if (focus) $('job-detail-title').focus();
      return;
    }
    JobOutput.show(job, focus);
    if (previous && jobs.has(previous)) render(jobs.get(previous));
    render(job);
  }

  function claim(button) {
    if (button.getAttribute('aria-disabled') === 'true') return false;
    button.setAttribute('aria-disabled', 'true');
    return true;
  }

  async function cancel(job, button) {
    if (!claim(button)) return;
    try {
      const answer = await api('POST', `/api/v1/jobs/${encodeURIComponent(job.id)}/cancel`);
      if (answer && Atelier.isJobActive(answer.state)) canceling.add(job.id);
      announce(`Canceling ${quoted(job)}.`);
      upsert(answer && answer.id ? answer : job, true);
    } catch (error) {
      button.removeAttribute('aria-disabled');
      $('jobs-error').textContent = `${quoted(job)} could not be canceled: ${error.message}`;
    }
  }

  async function remove(job, button) {
    if (!claim(button)) return;
    try {
      await api('DELETE', `/api/v1/jobs/${encodeURIComponent(job.id)}`);
      forget(job.id);
    } catch (error) {
      button.removeAttribute('aria-disabled');
      $('jobs-error').textContent = `${quoted(job)} could not be removed: ${error.message}`;
    }
  }

  function created(job) {
    announce(`${quoted(job)} was submitted. Its output is shown below the list.`);
    if (!matches(job)) {
      // Show the new job even when the filters would hide it.
      $('job-state-filter').value = '';
      $('job-name-filter').value = '';
      refresh();
    }
    upsert(job, false);
    // Focus goes back to "New job" as the dialog closes; the output shows below.
    if (jobs.has(job.id)) select(job.id, false);
  }

  function onFiltersChanged(delay) {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(refresh, delay);
  }

  /** Wires the tab for `user` (the `/api/v1/me` answer) and loads the list. */
  function setup(user) {
    me = user;
    NewJobDialog.setup(created);
    JobOutput.setup((id) => {
      const job = jobs.get(id);
      if (!job) return;
      render(job);
      body.querySelector(`tr[data-id="${CSS.escape(id)}"] [data-focus="name"]`).focus();
    });
    $('new-job').addEventListener('click', () => NewJobDialog.open());
    $('job-state-filter').addEventListener('change', () => onFiltersChanged(0));
    $('job-name-filter').addEventListener('input', () => onFiltersChanged(300));
    setInterval(() => Atelier.refreshTimes($('panel-jobs')), 1000);
    return refresh();
  }

  return {
    setup,
    refresh,
    onJob: (job) => job && job.id && upsert(job, true),
    onRemoved: (data) => data && data.id && forget(data.id),
  };
})();
