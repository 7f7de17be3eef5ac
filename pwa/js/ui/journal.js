/**
 * The journal: one row per letter, the paper journal's columns first (number, date received, applicant),
 * then category, status and the due date of the answer.
 */
import { h } from '../dom.js';
import { t, term } from '../i18n.js';
import { cadenceAlerts } from './openings.js';
import { applicantLabel, deadlineState, dueDateText, isProvisional, letterMark, shortDate, todayISO } from './format.js';

function statusCell(view) {
  return h('span', { class: 'cell-status' },
    h('span', { class: 'chip' }, term('status', view.status || 'registered')),
    view.pending > 0 && h('span', { class: 'chip chip-pending' }, t('letter.not_sent')),
    view.attention && h('span', { class: 'chip chip-attention' }, t('letter.needs_attention')));
}

function row(view, calendar, today) {
  const deadline = deadlineState(view, calendar, today);
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
      h('span', { class: ['cell-due', deadline && `is-${deadline}`] },
        h('span', { class: 'cell-label' }, t('journal.col_due')), dueDateText(view, calendar),
        deadline && deadline !== 'on_time' && h('span', { class: `chip chip-${deadline}` }, t(`deadline.${deadline}`)))));
}

/**
 * @param {object} app
 * @returns {Promise<HTMLElement>}
 */
export async function render(app) {
  const views = await app.store.listAppeals(); // newest first
  const calendar = await app.store.getMeta('calendar');
  const today = todayISO();
  const header = h('div', { class: 'journal-head', 'aria-hidden': 'true' },
    h('span', { class: 'cell-number' }, t('journal.col_number')),
    h('span', { class: 'cell-date' }, t('journal.col_received')),
    h('span', { class: 'cell-applicant' }, t('journal.col_applicant')),
    h('span', { class: 'cell-category' }, t('journal.col_category')),
    h('span', { class: 'cell-state' }, t('journal.col_status')),
    h('span', { class: 'cell-due' }, t('journal.col_due')));
  const provisional = views.filter(isProvisional).length;
  const role = app.session?.user?.role;
  const openings = await app.store.listRecords('opening');
  const awaiting = role === 'director' ? openings.filter((o) => !o.acknowledged_at) : [];
  const alerts = role === 'pedagogue' || role === 'director' ? cadenceAlerts(openings, app.session?.school, today) : [];

  return h('section', { class: 'screen screen-wide' },
    h('div', { class: 'screen-title-row' },
      h('div', null,
        h('h1', null, t('journal.title')),
        h('p', { class: 'muted' }, t('journal.count', { count: views.length }))),
      h('div', { class: 'title-actions' },
        h('a', { href: '#/print/journal', class: 'button button-secondary' }, t('print.journal_link')),
        role === 'pedagogue' && h('a', { href: '#/print/slips', class: 'button button-secondary' }, t('print.slips_link')),
        role === 'pedagogue' && h('a', { href: '#/new', class: 'button button-primary' },
          h('span', { class: 'plus-glyph', 'aria-hidden': 'true' }, '+'), ' ', t('nav.new_letter')))),
    alerts.map((text) => h('p', { class: 'form-message form-message-warning cadence-alert', role: 'status' }, text)),
    awaiting.length > 0 && h('p', { class: 'form-message form-message-info acts-awaiting', role: 'status' },
      h('a', { href: '#/openings' }, t('journal.acts_awaiting', { count: awaiting.length }))),
    views.length === 0
      ? h('div', { class: 'empty card' }, h('p', null, t('journal.empty')),
        role === 'pedagogue' && h('a', { href: '#/new', class: 'button button-primary' }, t('journal.register_first')))
      : h('div', { class: 'journal' }, header, h('ul', { class: 'journal-list', 'aria-label': t('journal.title') }, views.map((view) => row(view, calendar, today)))),
    !calendar && views.length > 0 && h('p', { class: 'muted small footnote' }, t('journal.due_estimate_note')),
    provisional > 0 && h('p', { class: 'muted small footnote' }, t('journal.provisional_note')));
}
