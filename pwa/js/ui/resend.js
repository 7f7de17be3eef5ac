/**
 * Edit and resend a refused mutation from "Needs attention". A conflict opens field by field (conflict.js);
 * a registration opens as a filled letter form; a correction opens against the letter as it is now, with the
 * refused changes and reason applied; a refused receipt code (one slip, one letter) starts on the code.
 */
import { h } from '../dom.js';
import { t, term } from '../i18n.js';
import { conflictScreen } from './conflict.js';
import { codeMessage } from './errors.js';
import { letterTitle } from './letter.js';
import { FormProblem, letterForm } from './letter-form.js';
import {
  applyChanges, registrationChanges, registrationFromValues, registrationFromView, valuesFromRegistration,
} from './letter-values.js';

/**
 * @param {object} app
 * @param {{id: string}} params the mutation id
 * @returns {Promise<HTMLElement>}
 */
export async function render(app, { id }) {
  const item = await app.store.attentionItem(id);
  if (!item) {
    return h('section', { class: 'screen' }, h('h1', null, t('attention.item_gone')),
      h('a', { href: '#/attention', class: 'button button-secondary' }, t('attention.back')));
  }
  const { mutation, result } = item;
  if (result?.status === 'conflict' && item.server && mutation.type !== 'appeal.registered') return conflictScreen(app, item);
  if (mutation.type !== 'appeal.registered' && mutation.type !== 'appeal.amended') return sendAgain(app, item);
  const isRegistration = mutation.type === 'appeal.registered';
  const view = await app.store.getAppeal(mutation.appeal_id);
  const before = isRegistration || !view ? null : registrationFromView(view);
  if (!isRegistration && !before) {
    return h('section', { class: 'screen' }, h('h1', null, t('letter.not_found')),
      h('a', { href: '#/attention', class: 'button button-secondary' }, t('attention.back')));
  }
  const startFrom = isRegistration ? mutation.data : applyChanges(before, mutation.data?.changes || {});

  const form = letterForm(app, {
    draftKey: `resend:${id}`,
    initial: valuesFromRegistration(startFrom),
    withReason: !isRegistration,
    initialReason: isRegistration ? '' : mutation.data?.reason || '',
    submitLabel: t('attention.resend'),
    letterId: mutation.appeal_id,
    focusReceiptCode: result?.error === 'receipt_code_used',
    async onSave(values, reason) {
      if (isRegistration) {
        await app.store.resendFromAttention(id, registrationFromValues(values));
      } else {
        const changes = registrationChanges(before, registrationFromValues(values));
        if (Object.keys(changes).length === 0) throw new FormProblem('amend.error_no_changes');
        await app.store.resendFromAttention(id, { changes, reason: reason.trim() });
      }
      app.afterSave();
      app.flash(t('attention.resent'));
    },
    onDone: () => app.navigate('#/attention'),
  });

  return h('section', { class: 'screen' },
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/attention' }, t('attention.back'))),
    h('h1', null, t('attention.edit_title', {
      type: term('mutation', mutation.type), title: view ? letterTitle(view) : t('letter.title_provisional', { mark: '~' }),
    })),
    h('p', { class: 'form-message form-message-error' }, codeMessage(result?.error)),
    form);
}

/**
 * A refused step of the case work, an opening or a meeting: shown as it was, and sent again as it is
 * (against the version the letter has now) once what made the server refuse it has changed.
 */
async function sendAgain(app, { mutation, result }) {
  const view = mutation.appeal_id ? await app.store.getAppeal(mutation.appeal_id) : null;
  const message = h('p', { class: 'form-message form-message-error', role: 'alert' }, codeMessage(result?.error));
  const button = h('button', { type: 'button', class: 'button button-primary' }, t('attention.resend'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await app.store.resendFromAttention(mutation.id);
      app.afterSave();
      app.flash(t('attention.resent'));
      app.navigate('#/attention');
    } catch (error) {
      button.disabled = false;
      message.textContent = codeMessage(error?.code);
    }
  });
  const shown = Object.entries(mutation.data ?? {}).filter(([, value]) => value !== null && typeof value !== 'object');
  return h('section', { class: 'screen' },
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/attention' }, t('attention.back'))),
    h('h1', null, term('mutation', mutation.type), view ? ` · ${letterTitle(view)}` : ''),
    message,
    h('dl', { class: 'details card' }, shown.map(([key, value]) => h('div', { class: 'detail' }, h('dt', null, key), h('dd', null, String(value))))),
    h('div', { class: 'form-actions' }, button,
      view && h('a', { href: `#/letter/${view.id}`, class: 'button button-secondary' }, letterTitle(view))));
}
