/**
 * Needs attention: every mutation the server refused (rejected, or a conflict with a newer version),
 * with the server's reason in words. Nothing here is dropped unasked; the user edits and resends it, or
 * withdraws it after a confirm. A receipt code another letter holds names that letter (№, date): the same
 * letter registered twice (withdraw mine) or a mistyped code (correct it). An id the server knew for another
 * mutation (`id_reused`) is saved again as a new entry, with new ids.
 */
import { h } from '../dom.js';
import { t, term, formatDateTime, formatNumber } from '../i18n.js';
import { receiptHolder } from '../history.js';
import { confirmDialog } from './dialogs.js';
import { codeMessage, describeError } from './errors.js';
import { changedPaths } from './letter-values.js';
import { fieldLabel, letterTitle } from './letter.js';
import { holderLabel } from './receipt-check.js';

/** The code a registration or a correction sets, if any. */
function codeOf(mutation) {
  return mutation.type === 'appeal.registered' ? mutation.data?.receipt_code : mutation.data?.changes?.receipt_code;
}

function receiptActions(app, item, holder) {
  // A registration is the same letter counted twice; a correction only gave the letter a taken code.
  const [label, body] = item.mutation.type === 'appeal.amended'
    ? ['receipt.withdraw_correction', 'receipt.withdraw_correction_body']
    : ['receipt.withdraw_mine', 'receipt.withdraw_body'];
  const withdraw = h('button', { type: 'button', class: 'button button-secondary attention-withdraw' }, t(label));
  withdraw.addEventListener('click', async () => {
    const ok = await confirmDialog({ title: t('receipt.withdraw_title'), body: t(body), confirm: t(label), danger: true });
    if (!ok) return;
    await app.store.withdrawFromAttention(item.mutation.id);
    app.flash(t('receipt.withdrawn'));
    app.navigate('#/attention');
  });
  return [
    h('p', { class: 'attention-holder' }, holder ? t('receipt.used', { letter: holderLabel(holder) }) : t('receipt.used_unknown'), ' ',
      holder?.id && h('a', { href: `#/letter/${holder.id}` }, t('receipt.open_holder'))),
    h('div', { class: 'button-row' }, withdraw,
      h('a', { class: 'button button-primary attention-correct-code', href: `#/attention/${item.mutation.id}` }, t('receipt.correct_code'))),
  ];
}

function reusedActions(app, item) {
  const message = h('p', { class: 'form-message form-message-error', role: 'alert', hidden: true });
  const again = h('button', { type: 'button', class: 'button button-primary attention-save-new' }, t('reused.save_new'));
  again.addEventListener('click', async () => {
    again.disabled = true;
    try {
      await app.store.resendFromAttention(item.mutation.id, undefined, { asNew: true });
      app.afterSave();
      app.flash(t('attention.resent'));
      app.navigate('#/attention');
    } catch (error) {
      again.disabled = false;
      message.hidden = false;
      message.textContent = describeError(error);
    }
  });
  return [h('p', { class: 'attention-explained' }, t('reused.explained')), message, h('div', { class: 'button-row' }, again)];
}

function itemCard(app, item, view, holder) {
  const mutation = item.mutation || {};
  const result = item.result || {};
  const isRegistration = mutation.type === 'appeal.registered';
  const paths = isRegistration ? [] : changedPaths(mutation.data?.changes);
  return h('li', { class: 'card attention-item', 'data-error': result.error ?? '' },
    h('div', { class: 'attention-head' },
      h('h2', null, term('mutation', mutation.type), view ? ` · ${letterTitle(view)}` : ''),
      item.at && h('time', { class: 'muted', datetime: item.at }, formatDateTime(item.at))),
    h('p', { class: 'attention-reason' },
      h('strong', null, result.status === 'conflict' ? t('attention.conflict') : t('attention.rejected')), ' ',
      codeMessage(result.error)),
    result.status === 'conflict' && result.version
      && h('p', { class: 'muted' }, t('attention.current_version', { version: formatNumber(result.version) })),
    isRegistration && mutation.data?.summary && h('p', { class: 'attention-summary' }, mutation.data.summary),
    paths.length > 0 && h('p', null, t('history.changed_fields'), ' ', paths.map(fieldLabel).join(', ')),
    !isRegistration && mutation.data?.reason && h('p', null, h('span', { class: 'muted' }, t('history.reason'), ' '),
      mutation.data.reason),
    result.error === 'receipt_code_used' && receiptActions(app, item, holder),
    result.error === 'id_reused' && reusedActions(app, item),
    h('div', { class: 'button-row' },
      view && h('a', { class: 'button button-secondary', href: `#/letter/${view.id}` }, t('attention.open_letter')),
      result.error !== 'receipt_code_used' && result.error !== 'id_reused'
        && h('a', { class: 'button button-primary attention-edit', href: `#/attention/${mutation.id}` },
          result.status === 'conflict' ? t('conflict.resolve') : t('attention.edit_resend'))));
}

/**
 * @param {object} app
 * @returns {Promise<HTMLElement>}
 */
export async function render(app) {
  const items = await app.store.attentionItems();
  const views = await Promise.all(items.map((item) => (item.mutation?.appeal_id
    ? app.store.getAppeal(item.mutation.appeal_id).catch(() => null) : null)));
  const needsLookup = items.some((item) => item.result?.error === 'receipt_code_used' && !item.result?.held_by);
  const known = needsLookup ? await app.store.listAppeals() : [];
  // The holding letter as the server named it, else as this tablet knows it.
  const holders = items.map((item) => (item.result?.error !== 'receipt_code_used' ? null
    : item.result.held_by ?? receiptHolder(codeOf(item.mutation), known, item.mutation.appeal_id)));
  return h('section', { class: 'screen' },
    h('h1', null, t('attention.title')),
    h('p', { class: 'lead' }, t('attention.intro')),
    items.length === 0 ? h('div', { class: 'empty card' }, h('p', null, t('attention.empty')))
      : h('ul', { class: 'plain-list attention-list' }, items.map((item, i) => itemCard(app, item, views[i], holders[i]))));
}
