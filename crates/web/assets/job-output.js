// The output pane of the Jobs tab: a summary of the selected job and its
// output in a `<pre>`. While the job is pending or running it polls
// `GET /api/v1/jobs/{id}/output?offset=N&stream=…` every second (the answer
// is the bytes written since N; `X-Atelier-Next-Offset` is the next N), and
// once it has ended it reads until an answer comes back empty. Bytes go
// through one streaming decoder, so a character split between two answers
// is still shown whole. "Follow" keeps the end in view.
'use strict';

const JobOutput = (() => {
  const { el } = Atelier;
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 1000;
  const RETRY_MS = 3000;
  /** Past this many characters the oldest output is dropped from the page. */
  const MAX_CHARS = 2000000;
  const KEEP_CHARS = 1500000;
  const STREAMS = { combined: 'stdout and stderr', stdout: 'stdout', stderr: 'stderr' };
  /** The shown job and its reading: { job, stream, offset, decoder, timer, gen, done, bytes, trimmed }. */
  let current = null;
  let onClose = () => {};

  const quoted = (job) => `“${job.name}”`;

  function exactTime(text) {
    const date = Atelier.parseTime(text);
    if (!date) return null;
    return el('time', { datetime: date.toISOString(), text: date.toLocaleString() });
  }

  function summary(job) {
    const ended = !Atelier.isJobActive(job.state);
    const hasExit = job.exit_code !== null && job.exit_code !== undefined;
    const rows = [
      ['State', Atelier.jobBadge(job.state)],
      ['Exit code', hasExit ? String(job.exit_code) : null],
      ['Command', Atelier.commandLine(job.command) || null],
      ['Working directory', job.workdir],
      ['Python', job.python],
      ['R', job.r],
      ['Resources', job.profile],
      ['Node', job.node],
      ['Requested', exactTime(job.created_at)],
      ['Started', exactTime(job.started_at)],
      ['Ended', ended ? exactTime(job.ended_at) : null],
      ['Duration', job.started_at ? Atelier.jobDuration(job) : null],
    ].filter(([, value]) => value);
    const problem = job.error && job.state !== 'finished'
      ? el('p', { class: job.state === 'failed' ? 'card-error' : 'card-note', text: job.error })
      : null;
    return [el('dl', { class: 'facts job-facts' },
      rows.map(([term, value]) => [el('dt', { text: term }), el('dd', { class: 'wrap' }, value)])), problem];
  }

  function setStatus(text) {
    $('job-output-status').textContent = text;
  }

  function liveStatus(c) {
    if (c.job.state === 'pending') return 'Waiting for the job to start; checking every second.';
    if (c.job.state === 'running') return 'Live: new output every second.';
    return 'Reading the last of the output…';
  }

  function doneStatus(c) {
    const size = c.bytes < 1024 ? `${c.bytes} bytes` : `${(c.bytes / 1024).toFixed(1)} KB`;
    if (c.bytes === 0) return `The job wrote nothing to ${STREAMS[c.stream]}.`;
    const trimmed = c.trimmed ? ' Only the end is shown here.' : '';
    return `Complete: ${size} of ${STREAMS[c.stream]}.${trimmed}`;
  }

  function follow() {
    if ($('job-follow').checked) {
      const pre = $('job-output');
      pre.scrollTop = pre.scrollHeight;
    }
  }

  function append(c, text) {
    if (!text) return;
    const pre = $('job-output');
    if (!pre.firstChild) pre.append(document.createTextNode(''));
    const node = pre.firstChild;
    node.appendData(text);
    if (node.length > MAX_CHARS) {
      node.deleteData(0, node.length - KEEP_CHARS);
      c.trimmed = true;
    }
    follow();
  }

  function schedule(c, delay) {
    clearTimeout(c.timer);
    c.timer = setTimeout(() => poll(c, c.gen), delay);
  }

  async function errorMessage(response) {
    try {
      const data = await response.json();
      if (data && data.error && data.error.message) return data.error.message;
    } catch {
      // Not JSON: fall back to the status line.
    }
    return `the server answered ${response.status}`;
  }

  /** One read of new output; schedules the next while there may be more. */
  async function poll(c, gen) {
    const stale = () => current !== c || c.gen !== gen;
    if (stale()) return;
    const endedBefore = !Atelier.isJobActive(c.job.state);
    const query = `offset=${c.offset}&stream=${encodeURIComponent(c.stream)}`;
    let response;
    try {
      response = await fetch(`/api/v1/jobs/${encodeURIComponent(c.job.id)}/output?${query}`, {
        credentials: 'same-origin', headers: { Accept: 'text/plain' },
      });
    } catch {
      if (stale()) return;
      setStatus('Atelier could not be reached; trying again…');
      schedule(c, RETRY_MS);
      return;
    }
    if (stale()) return;
    if (response.status === 401) {
      Atelier.toLogin();
      return;
    }
    if (!response.ok) {
      const message = await errorMessage(response);
      if (stale()) return;
      if (response.status === 404) {
        setStatus('This job no longer exists.');
        return;
      }
      setStatus(`The output could not be read: ${message}. Trying again…`);
      schedule(c, RETRY_MS);
      return;
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (stale()) return;
    const next = Number.parseInt(response.headers.get('X-Atelier-Next-Offset') || '', 10);
    c.offset = Number.isFinite(next) ? next : c.offset + bytes.length;
    c.bytes += bytes.length;
    append(c, c.decoder.decode(bytes, { stream: true }));
    if (!endedBefore) {
      setStatus(liveStatus(c));
      schedule(c, POLL_MS);
    } else if (bytes.length > 0) {
      setStatus(liveStatus(c));
      schedule(c, 0);
    } else {
      append(c, c.decoder.decode());
      c.done = true;
      setStatus(doneStatus(c));
    }
  }

  /** Starts reading `current`'s chosen stream from the beginning. */
  function restart() {
    const c = current;
    clearTimeout(c.timer);
    c.gen += 1;
    c.offset = 0;
    c.bytes = 0;
    c.done = false;
    c.trimmed = false;
    c.decoder = new TextDecoder('utf-8');
    $('job-output').replaceChildren();
    setStatus('Loading the output…');
    poll(c, c.gen);
  }

  function renderHead(job) {
    $('job-detail-title').textContent = `Output of ${quoted(job)}`;
    $('job-summary').replaceChildren(...summary(job).filter(Boolean));
  }

  /**
   * Shows `job` and starts reading its output (again if it is already shown);
   * moves focus to the pane's heading when `focus`.
   */
  function show(job, focus = true) {
    stop();
    current = { job, stream: $('job-stream').value, gen: 0, timer: null };
    renderHead(job);
    $('job-detail').hidden = false;
    restart();
    if (focus) $('job-detail-title').focus();
  }

  /** A newer record of a job: refreshes the pane when it is the shown one. */
  function update(job) {
    if (!current || current.job.id !== job.id) return;
    current.job = job;
    renderHead(job);
  }

  function stop() {
    if (current) {
      clearTimeout(current.timer);
      current.gen += 1;
    }
    current = null;
  }

  /** Hides the pane; `onClose(id)` hears which job it showed. */
  function close() {
    const id = current && current.job.id;
    stop();
    $('job-detail').hidden = true;
    $('job-output').replaceChildren();
    if (id) onClose(id);
  }

  /** The job was removed: close the pane if it shows it. */
  function removed(id) {
    if (current && current.job.id === id) close();
  }

  function shownId() {
    return current ? current.job.id : null;
  }

  /** Wires the controls. `closed(id)` runs when the user closes the pane. */
  function setup(closed) {
    onClose = closed;
    $('job-detail-close').addEventListener('click', close);
    $('job-stream').addEventListener('change', () => {
      if (!current) return;
      current.stream = $('job-stream').value;
      restart();
    });
    $('job-follow').addEventListener('change', follow);
    $('job-detail').addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && current) {
        event.preventDefault();
        close();
      }
    });
  }

  return { setup, show, update, removed, close, shownId };
})();
