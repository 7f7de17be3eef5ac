/**
 * The prompt the sync loop raises when the server no longer accepts this tablet's token (expired or
 * replaced): the password logs the same device in again, so its unsent letters keep their numbering.
 */
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { formDialog } from './dialogs.js';
import { field, formMessage, markBusy } from './fields.js';
import { describeError } from './errors.js';
import { logIn } from './login.js';

/**
 * Ask for the password and renew the session.
 * @param {object} app
 * @param {{code?: string}} [detail] the 401 code that caused it
 * @returns {Promise<boolean>} whether the session was renewed
 */
export async function reloginDialog(app, detail = {}) {
  const session = app.session;
  if (!session) return false;
  const result = await formDialog({
    title: t('relogin.title'),
    className: 'relogin',
    build(close) {
      const username = h('input', { name: 'username', type: 'text', autocomplete: 'username', autocapitalize: 'none',
        spellcheck: 'false', required: true, value: session.user?.username || '' });
      const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true,
        autofocus: true });
      const message = formMessage();
      const submit = h('button', { type: 'submit', class: 'button button-primary' }, t('relogin.submit'));
      const later = h('button', { type: 'button', class: 'button button-secondary', onclick: () => close(false) },
        t('relogin.later'));
      const form = h('form', { class: 'form', novalidate: true }, message,
        field({ label: t('login.username'), control: username }),
        field({ label: t('login.password'), control: password }),
        h('div', { class: 'button-row' }, later, submit));
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        message.hide();
        if (!password.value) return;
        const restore = markBusy(submit, t('login.busy'));
        try {
          const renewed = await logIn(app, {
            username: username.value.trim(),
            password: password.value,
            device_name: session.device_name || t('login.device_name_default'),
            device_id: session.device_id,
          });
          password.value = '';
          await app.saveSession({ ...session, ...renewed, school: renewed.school || session.school });
          close(true);
        } catch (error) {
          restore();
          message.show(describeError(error));
        }
      });
      return [
        h('p', null, detail.code ? `${t('relogin.intro')} (${describeError({ code: detail.code })})` : t('relogin.intro')),
        form,
      ];
    },
  });
  return result === true;
}
