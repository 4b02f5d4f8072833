// The login page: posts the credentials as JSON, then goes to the `next`
// page when it is a path on this site. Errors (bad credentials, too many
// attempts) are shown in an alert region; the user name is kept.
'use strict';

(() => {
  const form = document.getElementById('login-form');
  const username = document.getElementById('username');
  const password = document.getElementById('password');
  const submit = document.getElementById('login-submit');
  const errorBox = document.getElementById('login-error');
  let waitTimer = null;

  function showError(message) {
    errorBox.textContent = message;
  }

  /** After a 429, keeps the button disabled and counts down the wait. */
  function waitBeforeRetry(seconds) {
    clearInterval(waitTimer);
    let left = seconds;
    const tick = () => {
      if (left <= 0) {
        clearInterval(waitTimer);
        submit.disabled = false;
        submit.textContent = 'Sign in';
        return;
      }
      submit.disabled = true;
      submit.textContent = `Sign in (wait ${left} s)`;
      left -= 1;
    };
    tick();
    waitTimer = setInterval(tick, 1000);
  }

  function missingField() {
    if (!username.value.trim()) return [username, 'Enter your user name.'];
    if (!password.value) return [password, 'Enter your password.'];
    return null;
  }

  async function signIn(event) {
    event.preventDefault();
    const missing = missingField();
    if (missing) {
      showError(missing[1]);
      missing[0].focus();
      return;
    }
    showError('');
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    const credentials = { username: username.value.trim(), password: password.value };
    try {
      await Atelier.api('POST', '/api/v1/auth/login', credentials, { noRedirect: true });
      const next = new URLSearchParams(location.search).get('next');
      location.replace(Atelier.safeNext(next));
    } catch (error) {
      password.value = '';
      showError(error.message);
      submit.disabled = false;
      submit.textContent = 'Sign in';
      if (error.status === 429 && error.retryAfter) waitBeforeRetry(error.retryAfter);
      password.focus();
    }
  }

  form.addEventListener('submit', signIn);
})();
