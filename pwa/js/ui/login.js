/**
 * Logging in: the first run enrols this tablet; after a logout it logs in again, keeping the device (and
 * so the numbering of its unsent letters). Needs the network; says so when there is none. After too many
 * wrong passwords the server answers 429 with `Retry-After`: the screen says how long to wait and keeps
 * the button disabled, counting down, until then.
 *
 * When the server withdrew this tablet's access (the store's `withdrawn` mark, store/access.js) the form
 * says so and how many unsent entries wait; a login refused `device_revoked` says to ask the admin to
 * re-admit the tablet or to reset the password. The same device logs in again: a revoked tablet is never
 * silently enrolled as a new one.
 */
import { h } from '../dom.js';
import { formatNumber, t } from '../i18n.js';
import { field, formMessage, markBusy } from './fields.js';
import { describeError } from './errors.js';

/**
 * Log in, then ask the server for the school's settings. A revoked tablet stays the same device: the
 * server lets it in again once the admin re-admitted it or the password was set anew (401
 * `device_revoked` until then).
 * @param {object} app
 * @param {{username: string, password: string, device_name: string, device_id: string|null}} credentials
 * @returns {Promise<object>} the session to keep: {token, device_id, expires_at, user, school, device_name}
 */
export async function logIn(app, { username, password, device_name, device_id }) {
  const result = await app.api.login({ username, password, device_name, device_id: device_id || null });
  let school = app.session?.school || null;
  try {
    school = (await app.api.me(result.token)).school;
  } catch {
    // The settings come later with the next successful call; the defaults hold until then.
  }
  return {
    token: result.token,
    device_id: result.device_id,
    expires_at: result.expires_at,
    user: { ...result.user, username },
    device_name,
    school,
  };
}

/**
 * Hold a submit button for `seconds` after a 429: disabled, its label counting down, then given back.
 * The message says the wait once (a live region re-read every second would drown a screen reader).
 * @param {HTMLButtonElement} button
 * @param {HTMLElement} message a formMessage()
 * @param {number} seconds
 */
export function waitOut(button, message, seconds) {
  const label = button.textContent;
  let left = Math.max(1, Math.ceil(seconds));
  message.show(t('login.too_many_attempts', { seconds: formatNumber(left) }));
  button.disabled = true;
  button.classList.add('is-waiting');
  const show = () => { button.textContent = t('login.wait', { seconds: formatNumber(left) }); };
  show();
  const timer = setInterval(() => {
    left -= 1;
    if (left > 0 && button.isConnected) {
      show();
      return;
    }
    clearInterval(timer);
    button.disabled = false;
    button.classList.remove('is-waiting');
    button.textContent = label;
    message.hide();
  }, 1000);
}

/**
 * @param {object} app
 * @returns {Promise<HTMLElement>}
 */
export async function render(app) {
  const previous = app.vault.isUnlocked() ? await app.store.getSession() : null;
  const withdrawn = previous ? await app.store.getMeta('withdrawn') : null;
  const unsent = withdrawn ? await app.store.pendingCount() : 0;
  const username = h('input', { name: 'username', type: 'text', autocomplete: 'username', autocapitalize: 'none',
    spellcheck: 'false', required: true, maxlength: 100, value: previous?.user?.username || '' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true,
    maxlength: 1024 });
  const deviceName = h('input', { name: 'device_name', type: 'text', autocomplete: 'off', required: true, maxlength: 100,
    value: previous?.device_name || t('login.device_name_default') });
  const message = formMessage();
  const submit = h('button', { type: 'submit', class: 'button button-primary button-wide' }, t('login.submit'));
  if (!username.value) username.setAttribute('data-autofocus', '');
  else password.setAttribute('data-autofocus', '');

  const form = h('form', { class: 'card form', novalidate: true }, message,
    field({ label: t('login.username'), control: username, required: true }),
    field({ label: t('login.password'), control: password, required: true }),
    field({ label: t('login.device_name'), control: deviceName, hint: t('login.device_name_hint'), required: true }),
    submit);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hide();
    if (!username.value.trim() || !password.value || !deviceName.value.trim()) {
      message.show(t('login.fill_all'));
      return;
    }
    if (!navigator.onLine) {
      message.show(t('login.needs_network'));
      return;
    }
    const restore = markBusy(submit, t('login.busy'));
    try {
      const session = await logIn(app, {
        username: username.value.trim(),
        password: password.value,
        device_name: deviceName.value.trim(),
        device_id: previous?.device_id || null,
      });
      password.value = '';
      if (app.vault.isUnlocked()) {
        await app.saveSession(session);
        await app.startSession();
      } else {
        app.pendingLogin = session; // sealed once the passphrase exists
        app.navigate('#/passphrase');
      }
    } catch (error) {
      restore();
      if (error.status === 429) waitOut(submit, message, error.retryAfter ?? 60);
      else if (error.code === 'device_revoked') message.show(t('withdrawn.ask_admin'));
      else message.show(describeError(error));
      password.select();
    }
  });

  return h('section', { class: ['screen screen-narrow', withdrawn && 'login-withdrawn'] },
    h('h1', null, withdrawn ? t('withdrawn.title') : t('login.title')),
    withdrawn && h('p', { class: 'form-message form-message-warning withdrawn-notice', role: 'alert' },
      t(withdrawn === 'account_disabled' ? 'withdrawn.account_disabled' : 'withdrawn.device_revoked')),
    withdrawn && h('p', { class: 'lead' }, unsent > 0 ? t('withdrawn.unsent_kept', { count: formatNumber(unsent) }) : t('withdrawn.login_again')),
    !withdrawn && h('p', { class: 'lead' }, previous ? t('login.intro_again') : t('login.intro_first')),
    !navigator.onLine && h('p', { class: 'form-message form-message-warning' }, t('login.needs_network')),
    form);
}
