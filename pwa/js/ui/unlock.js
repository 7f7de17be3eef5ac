/**
 * The lock screen: the passphrase opens the vault, offline. After wrong passphrases the vault makes the
 * user wait longer each time; this screen shows the wait and counts it down. Nothing is ever wiped.
 */
import { h, replaceChildren } from '../dom.js';
import { t, formatNumber } from '../i18n.js';
import { field, formMessage, markBusy } from './fields.js';
import { describeError } from './errors.js';

/**
 * A wait as words: "45 s" or "3 min".
 * @param {number} ms
 */
export function waitText(ms) {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 120) return t('unlock.seconds', { n: formatNumber(seconds) });
  return t('unlock.minutes', { n: formatNumber(Math.ceil(seconds / 60)) });
}

/**
 * @param {object} app
 * @returns {HTMLElement}
 */
export function render(app) {
  const passphrase = h('input', { name: 'passphrase', type: 'password', autocomplete: 'current-password', required: true,
    'data-autofocus': true });
  const message = formMessage();
  const submit = h('button', { type: 'submit', class: 'button button-primary button-wide' }, t('unlock.submit'));
  const waitLine = h('p', { class: 'form-message form-message-warning', role: 'status', hidden: true });
  let waitUntil = 0;
  let timer = null;

  function tick() {
    const left = waitUntil - Date.now();
    if (left <= 0 || !waitLine.isConnected) {
      clearInterval(timer);
      timer = null;
      waitLine.hidden = true;
      submit.disabled = false;
      return;
    }
    waitLine.hidden = false;
    replaceChildren(waitLine, t('unlock.wait', { time: waitText(left) }));
    submit.disabled = true;
  }

  function startWait(ms) {
    waitUntil = Date.now() + ms;
    if (!timer) timer = setInterval(tick, 1000);
    tick();
  }

  // A wait earned before a reload still holds: show it from the start.
  app.vault.unlockWait().then(({ waitMs }) => {
    if (waitMs > 0) startWait(waitMs);
  }).catch(() => {});

  const form = h('form', { class: 'card form', novalidate: true }, message, waitLine,
    field({ label: t('unlock.passphrase'), control: passphrase, required: true }), submit);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hide();
    if (!passphrase.value || Date.now() < waitUntil) return;
    const restore = markBusy(submit, t('unlock.busy'));
    try {
      await app.vault.unlock(passphrase.value);
      passphrase.value = '';
      await app.afterUnlock();
    } catch (error) {
      restore();
      passphrase.value = '';
      if (error.name === 'WrongPassphrase' || error.name === 'UnlockWaiting') {
        if (error.name === 'WrongPassphrase') message.show(t('unlock.wrong'));
        if (error.waitMs > 0) startWait(error.waitMs);
      } else {
        message.show(describeError(error));
      }
      passphrase.focus();
    }
  });

  return h('section', { class: 'screen screen-narrow' },
    h('div', { class: 'lock-emblem', 'aria-hidden': 'true' }),
    h('h1', null, t('unlock.title')),
    h('p', { class: 'lead' }, t('unlock.intro')),
    form,
    h('p', { class: 'muted small' }, t('unlock.forgot')));
}
