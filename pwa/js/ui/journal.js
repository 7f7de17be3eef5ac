/**
 * The journal: one row per letter, the paper journal's columns first (number, date received, applicant),
 * then category, status and the due date of the answer.
 */
import { h } from '../dom.js';
import { t, term } from '../i18n.js';
import { applicantLabel, dueDateText, isProvisional, letterMark, shortDate } from './format.js';

function statusCell(view) {
  return h('span', { class: 'cell-status' },
    h('span', { class: 'chip' }, term('status', view.status || 'registered')),
    view.pending > 0 && h('span', { class: 'chip chip-pending' }, t('letter.not_sent')),
    view.attention && h('span', { class: 'chip chip-attention' }, t('letter.needs_attention')));
}

function row(view) {
  return h('li', null,
    h('a', { class: ['journal-row', view.urgent && 'is-urgent'], href: `#/letter/${view.id}` },
      h('span', { class: ['cell-number', isProvisional(view) && 'is-provisional'] },
        h('span', { class: 'visually-hidden' }, t('journal.col_number'), ' '),
        letterMark(view)),
      h('span', { class: 'cell-date' },
        h('span', { class: 'cell-label' }, t('journal.col_received')), shortDate(view.received_on)),
      h('span', { class: ['cell-applicant', view.anonymous && 'is-anonymous'] },
        h('span', { class: 'cell-label' }, t('journal.col_applicant')), applicantLabel(view)),
      h('span', { class: 'cell-meta' },
        h('span', { class: 'cell-category' },
          h('span', { class: 'cell-label' }, t('journal.col_category')),
          view.urgent && h('span', { class: 'chip chip-urgent' }, t('letter.urgent_short')), term('category', view.category)),
        h('span', { class: 'cell-state' },
          h('span', { class: 'cell-label' }, t('journal.col_status')), statusCell(view))),
      h('span', { class: 'cell-due' },
        h('span', { class: 'cell-label' }, t('journal.col_due')), dueDateText(view.received_on),
        h('span', { class: 'estimate-mark', title: t('journal.due_estimate_note') }, ' *'))));
}

/**
 * @param {object} app
 * @returns {Promise<HTMLElement>}
 */
export async function render(app) {
  const views = await app.store.listAppeals(); // newest first
  const header = h('div', { class: 'journal-head', 'aria-hidden': 'true' },
    h('span', { class: 'cell-number' }, t('journal.col_number')),
    h('span', { class: 'cell-date' }, t('journal.col_received')),
    h('span', { class: 'cell-applicant' }, t('journal.col_applicant')),
    h('span', { class: 'cell-category' }, t('journal.col_category')),
    h('span', { class: 'cell-state' }, t('journal.col_status')),
    h('span', { class: 'cell-due' }, t('journal.col_due'), ' *'));
  const provisional = views.filter(isProvisional).length;

  return h('section', { class: 'screen screen-wide' },
    h('div', { class: 'screen-title-row' },
      h('div', null,
        h('h1', null, t('journal.title')),
        h('p', { class: 'muted' }, t('journal.count', { count: views.length }))),
      h('a', { href: '#/new', class: 'button button-primary' }, h('span', { class: 'plus-glyph', 'aria-hidden': 'true' }, '+'), ' ',
        t('nav.new_letter'))),
    views.length === 0
      ? h('div', { class: 'empty card' }, h('p', null, t('journal.empty')),
        h('a', { href: '#/new', class: 'button button-primary' }, t('journal.register_first')))
      : h('div', { class: 'journal' }, header, h('ul', { class: 'journal-list', 'aria-label': t('journal.title') }, views.map(row))),
    views.length > 0 && h('p', { class: 'muted small footnote' }, '* ', t('journal.due_estimate_note')),
    provisional > 0 && h('p', { class: 'muted small footnote' }, t('journal.provisional_note')));
}
