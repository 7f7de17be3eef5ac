/**
 * Settings: language, storage use, the passphrase, the account's password, lock and logout, and what
 * version is running.
 */
import { h, replaceChildren } from '../dom.js';
import { LANGUAGES, language, setLanguage, t, term, formatNumber } from '../i18n.js';
import { confirmDialog } from './dialogs.js';
import { field, formMessage, markBusy } from './fields.js';
import { describeError } from './errors.js';
import { MIN_PASSPHRASE_LENGTH, passphraseProblem } from './passphrase.js';

/**
 * Bytes as "12.3 MB".
 * @param {number} bytes
 */
export function formatBytes(bytes) {
  const units = [['gigabyte', 1e9], ['megabyte', 1e6], ['kilobyte', 1e3]];
  for (const [unit, size] of units) {
    if (bytes >= size) return formatNumber(bytes / size, { style: 'unit', unit, maximumFractionDigits: 1 });
  }
  return formatNumber(bytes, { style: 'unit', unit: 'byte' });
}

function languageSection(app) {
  // The school chooses the languages its tablets offer (the admin's settings); Kyrgyz first.
  const offered = LANGUAGES.filter((lang) => (app.session?.school?.languages ?? LANGUAGES).includes(lang));
  return h('section', { class: 'card', 'aria-labelledby': 'settings-language' },
    h('h2', { id: 'settings-language' }, t('settings.language')),
    h('div', { class: 'segmented', role: 'group', 'aria-labelledby': 'settings-language' },
      offered.map((lang) => h('button', {
        type: 'button', class: 'segment', lang, 'aria-pressed': String(lang === language()),
        onclick: () => setLanguage(lang),
      }, t(`language.${lang}`)))));
}

function storageSection(app) {
  const body = h('div', null, h('p', { class: 'muted' }, t('common.loading')));
  const persisted = navigator.storage?.persisted ? navigator.storage.persisted().catch(() => undefined) : Promise.resolve(undefined);
  Promise.all([app.store.storageEstimate(), persisted]).then(([estimate, isPersisted]) => {
    const usage = Number(estimate?.usage) || 0;
    const quota = Number(estimate?.quota) || 0;
    replaceChildren(body,
      h('p', null, quota ? t('settings.storage_used', { used: formatBytes(usage), quota: formatBytes(quota) })
        : t('settings.storage_used_only', { used: formatBytes(usage) })),
      quota > 0 && usage / quota >= 0.01 && h('progress', { max: quota, value: usage, 'aria-hidden': 'true', class: 'storage-bar' }),
      isPersisted !== undefined && h('p', { class: 'muted' },
        isPersisted ? t('settings.storage_persisted') : t('settings.storage_not_persisted')));
  }).catch(() => replaceChildren(body, h('p', { class: 'muted' }, t('settings.storage_unknown'))));
  return h('section', { class: 'card' }, h('h2', null, t('settings.storage')), body);
}

function passphraseSection(app) {
  const current = h('input', { name: 'current-passphrase', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { name: 'new-passphrase', type: 'password', autocomplete: 'new-password', required: true,
    minlength: MIN_PASSPHRASE_LENGTH });
  const repeat = h('input', { name: 'repeat-passphrase', type: 'password', autocomplete: 'new-password', required: true,
    minlength: MIN_PASSPHRASE_LENGTH });
  const nextField = field({ label: t('passphrase.new'), control: next, hint: t('passphrase.hint', { min: MIN_PASSPHRASE_LENGTH }) });
  const repeatField = field({ label: t('passphrase.repeat'), control: repeat });
  const message = formMessage();
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, t('settings.change_passphrase'));
  const form = h('form', { class: 'form', novalidate: true }, message,
    field({ label: t('settings.current_passphrase'), control: current }), nextField, repeatField,
    h('div', { class: 'button-row' }, submit));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hide();
    nextField.setError('');
    repeatField.setError('');
    const problem = passphraseProblem(next.value, repeat.value);
    if (problem) {
      (problem === 'passphrase.mismatch' ? repeatField : nextField).setError(t(problem, { min: MIN_PASSPHRASE_LENGTH }));
      return;
    }
    const restore = markBusy(submit, t('passphrase.busy'));
    try {
      await app.vault.changePassphrase(current.value, next.value);
      form.reset();
      message.show(t('settings.passphrase_changed'), 'success');
    } catch (error) {
      message.show(error.name === 'WrongPassphrase' ? t('settings.passphrase_wrong') : describeError(error));
    } finally {
      restore();
    }
  });
  return h('section', { class: 'card' }, h('h2', null, t('settings.passphrase')),
    h('p', { class: 'muted' }, t('settings.passphrase_intro')), form);
}

// The server's rule for an account's password (server/services/accounts.py).
const MIN_PASSWORD_LENGTH = 8;

/**
 * The account's password, the one every device logs in with (not this tablet's passphrase). Online only:
 * changing it logs out the user's other devices at their next request; this tablet stays logged in.
 */
function passwordSection(app) {
  const input = (name, autocomplete) => h('input', { name, type: 'password', autocomplete, required: true, maxlength: 1024 });
  const current = input('current-password', 'current-password');
  const next = input('new-password', 'new-password');
  const repeat = input('repeat-password', 'new-password');
  next.minLength = MIN_PASSWORD_LENGTH;
  const currentField = field({ label: t('settings.current_password'), control: current });
  const nextField = field({ label: t('settings.new_password'), control: next,
    hint: t('settings.password_hint', { min: formatNumber(MIN_PASSWORD_LENGTH) }) });
  const repeatField = field({ label: t('settings.repeat_password'), control: repeat });
  const message = formMessage();
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, t('settings.change_password'));
  const form = h('form', { class: 'form', novalidate: true }, message, currentField, nextField, repeatField,
    h('div', { class: 'button-row' }, submit));
  // The field to mark and what to say, or null when the form may go to the server.
  const problem = () => {
    if (!current.value) return [currentField, t('form.error_required')];
    if (next.value.length < MIN_PASSWORD_LENGTH) {
      return [nextField, t('settings.password_hint', { min: formatNumber(MIN_PASSWORD_LENGTH) })];
    }
    if (next.value !== repeat.value) return [repeatField, t('settings.password_mismatch')];
    return null;
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hide();
    for (const each of [currentField, nextField, repeatField]) each.setError('');
    const found = problem();
    if (found) {
      found[0].setError(found[1]);
      return;
    }
    if (!navigator.onLine) {
      message.show(t('settings.password_needs_network'));
      return;
    }
    const restore = markBusy(submit, t('settings.password_busy'));
    try {
      await app.api.changePassword(app.session.token, { current_password: current.value, new_password: next.value });
      form.reset();
      message.show(t('settings.password_changed'), 'success');
    } catch (error) {
      if (error.status === 429) {
        message.show(t('login.too_many_attempts', { seconds: formatNumber(error.retryAfter ?? 60) }));
      } else if (error.code === 'wrong_password') {
        currentField.setError(t('error.wrong_password'));
        current.select();
      } else {
        message.show(describeError(error));
      }
    } finally {
      restore();
    }
  });
  return h('section', { class: 'card' }, h('h2', null, t('settings.password')),
    h('p', { class: 'muted' }, t('settings.password_intro')), form);
}

function sessionSection(app) {
  const session = app.session;
  const logout = async () => {
    const pending = await app.store.pendingCount();
    const body = pending > 0
      ? [h('p', { class: 'form-message form-message-warning' }, t('logout.pending_warning', { count: formatNumber(pending) })),
        t('logout.pending_kept')]
      : [t('logout.body')];
    const ok = await confirmDialog({ title: t('logout.title'), body, confirm: t('logout.confirm'), danger: pending > 0 });
    if (ok) await app.logout();
  };
  return h('section', { class: 'card' },
    h('h2', null, t('settings.account')),
    h('dl', { class: 'details' },
      h('div', { class: 'detail' }, h('dt', null, t('settings.user')), h('dd', null, session?.user?.full_name || '')),
      h('div', { class: 'detail' }, h('dt', null, t('settings.role')),
        h('dd', null, session?.user?.role ? term('user_role', session.user.role) : '')),
      h('div', { class: 'detail' }, h('dt', null, t('settings.school')), h('dd', null, session?.school?.name || '')),
      h('div', { class: 'detail' }, h('dt', null, t('settings.device')), h('dd', null, session?.device_name || '')),
      h('div', { class: 'detail' }, h('dt', null, t('settings.idle_lock')),
        h('dd', null, t('settings.idle_lock_minutes', { n: formatNumber(Number(session?.school?.idle_lock_minutes) || 10) })))),
    h('div', { class: 'button-row' },
      h('button', { type: 'button', class: 'button button-secondary', onclick: () => app.lock() }, t('shell.lock')),
      h('button', { type: 'button', class: 'button button-danger-outline', onclick: logout }, t('logout.button'))));
}

function aboutSection(app) {
  const version = h('dd', null, '…');
  app.shellVersion().then((value) => replaceChildren(version, value || t('settings.version_unknown')));
  return h('section', { class: 'card' },
    h('h2', null, t('settings.about')),
    h('p', null, t('app.title')),
    h('p', { class: 'muted' }, t('settings.about_text')),
    h('dl', { class: 'details' }, h('div', { class: 'detail' }, h('dt', null, t('settings.version')), version)));
}

/**
 * @param {object} app
 * @returns {HTMLElement}
 */
export function render(app) {
  return h('section', { class: 'screen' },
    h('h1', null, t('settings.title')),
    h('div', { class: 'settings-grid' },
      languageSection(app),
      sessionSection(app),
      storageSection(app),
      passphraseSection(app),
      passwordSection(app),
      aboutSection(app)));
}
