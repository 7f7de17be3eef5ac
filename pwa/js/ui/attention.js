/**
 * Needs attention: every mutation the server refused (rejected, or a conflict with a newer version),
 * with the server's reason in words. Nothing here is ever dropped; the user edits and resends it.
 */
import { h } from '../dom.js';
import { t, term, formatDateTime, formatNumber } from '../i18n.js';
import { codeMessage } from './errors.js';
import { changedPaths } from './letter-values.js';
import { fieldLabel, letterTitle } from './letter.js';

function itemCard(item, view) {
  const mutation = item.mutation || {};
  const result = item.result || {};
  const isRegistration = mutation.type === 'appeal.registered';
  const paths = isRegistration ? [] : changedPaths(mutation.data?.changes);
  return h('li', { class: 'card attention-item' },
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
    h('div', { class: 'button-row' },
      view && h('a', { class: 'button button-secondary', href: `#/letter/${view.id}` }, t('attention.open_letter')),
      h('a', { class: 'button button-primary', href: `#/attention/${mutation.id}` }, t('attention.edit_resend'))));
}

/**
 * @param {object} app
 * @returns {Promise<HTMLElement>}
 */
export async function render(app) {
  const items = await app.store.attentionItems();
  const views = await Promise.all(items.map((item) => (item.mutation?.appeal_id
    ? app.store.getAppeal(item.mutation.appeal_id).catch(() => null) : null)));
  return h('section', { class: 'screen' },
    h('h1', null, t('attention.title')),
    h('p', { class: 'lead' }, t('attention.intro')),
    items.length === 0 ? h('div', { class: 'empty card' }, h('p', null, t('attention.empty')))
      : h('ul', { class: 'plain-list attention-list' }, items.map((item, i) => itemCard(item, views[i]))));
}
