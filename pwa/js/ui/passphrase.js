/**
 * Setting the passphrase that opens the app on this tablet (first run, after the login). The login's
 * session is sealed under the new vault, so nothing of it is stored before this step.
 */
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { field, formMessage, markBusy } from './fields.js';
import { describeError } from './errors.js';

export const MIN_PASSPHRASE_LENGTH = 8;

/**
 * Check a new passphrase and its repetition.
 * @param {string} passphrase
 * @param {string} repeat
 * @returns {string|null} a message key, or null when fine
 */
export function passphraseProblem(passphrase, repeat) {
  if ([...passphrase].length < MIN_PASSPHRASE_LENGTH) return 'passphrase.too_short';
  if (passphrase !== repeat) return 'passphrase.mismatch';
  return null;
}

/**
 * @param {object} app
 * @returns {HTMLElement}
 */
export function render(app) {
  const first = h('input', { name: 'new-passphrase', type: 'password', autocomplete: 'new-password', required: true,
    minlength: MIN_PASSPHRASE_LENGTH, 'data-autofocus': true });
  const second = h('input', { name: 'repeat-passphrase', type: 'password', autocomplete: 'new-password', required: true,
    minlength: MIN_PASSPHRASE_LENGTH });
  const firstField = field({ label: t('passphrase.new'), control: first, hint: t('passphrase.hint', { min: MIN_PASSPHRASE_LENGTH }), required: true });
  const secondField = field({ label: t('passphrase.repeat'), control: second, required: true });
  const message = formMessage();
  const submit = h('button', { type: 'submit', class: 'button button-primary button-wide' }, t('passphrase.submit'));

  const form = h('form', { class: 'card form', novalidate: true }, message, firstField, secondField, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hide();
    firstField.setError('');
    secondField.setError('');
    const problem = passphraseProblem(first.value, second.value);
    if (problem) {
      (problem === 'passphrase.mismatch' ? secondField : firstField).setError(t(problem, { min: MIN_PASSPHRASE_LENGTH }));
      return;
    }
    const restore = markBusy(submit, t('passphrase.busy'));
    try {
      await app.vault.createVault(first.value);
      app.markVaultCreated();
      first.value = '';
      second.value = '';
      const session = app.pendingLogin;
      app.pendingLogin = null;
      await app.saveSession(session);
      await app.startSession();
    } catch (error) {
      restore();
      message.show(describeError(error));
    }
  });

  return h('section', { class: 'screen screen-narrow' },
    h('h1', null, t('passphrase.title')),
    h('p', { class: 'lead' }, t('passphrase.intro')),
    h('ul', { class: 'plain-list notes' },
      h('li', null, t('passphrase.note_offline')),
      h('li', null, t('passphrase.note_forget'))),
    form);
}
