/**
 * A letter's page: every journal field, the urgent guidance when it is urgent, and its history of events
 * (registered, corrected with the reason and the changed fields, still waiting to be sent). A case whose
 * contents the retention period erased shows its journal row and history only, says so, and offers no
 * correction and no case work.
 */
import { h } from '../dom.js';
import { t, term, formatDate, formatDateTime, formatNumber } from '../i18n.js';
import { applicantLabel, deadlineState, dueDate, isProvisional, letterMark, todayISO } from './format.js';
import { caseWorkCard } from './casework.js';
import { journalLink } from './journal.js';
import { urgentPanel } from './urgent.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The label of a changed field's dotted path, e.g. 'applicant.phone' → "Phone".
 * @param {string} path
 * @returns {string}
 */
export function fieldLabel(path) {
  const name = String(path).replace(/^applicant\./, '');
  const key = name === 'role' ? 'field.applicant_role' : `field.${name}`;
  const text = t(key);
  return text === key ? path : text;
}

/**
 * The title of a letter: "Letter No. 41" or "Letter ~3".
 * @param {object} view
 */
export function letterTitle(view) {
  return isProvisional(view) ? t('letter.title_provisional', { mark: letterMark(view) })
    : t('letter.title', { number: letterMark(view) });
}

function row(label, value, { className, empty = t('common.not_given') } = {}) {
  const missing = value === null || value === undefined || value === '';
  return h('div', { class: ['detail', className] },
    h('dt', null, label),
    h('dd', { class: missing ? 'is-empty' : null }, missing ? empty : value));
}

function who(by) {
  // The server names people; an id alone says nothing to the reader.
  return by && !UUID.test(by) ? by : null;
}

function historyEntry(entry) {
  const author = who(entry.by);
  return h('li', { class: ['history-entry', entry.pending && 'is-pending'] },
    h('div', { class: 'history-head' },
      h('strong', null, term('event', entry.type)),
      entry.at && h('time', { datetime: entry.at }, formatDateTime(entry.at)),
      author && h('span', { class: 'muted' }, author),
      entry.pending && h('span', { class: 'chip chip-pending' }, t('letter.not_sent'))),
    Array.isArray(entry.fields) && entry.fields.length > 0 && h('p', { class: 'history-fields' },
      t('history.changed_fields'), ' ', entry.fields.map(fieldLabel).join(', ')),
    entry.reason && h('p', { class: 'history-reason' }, h('span', { class: 'muted' }, t('history.reason'), ' '), entry.reason));
}

/** What happened to an erased case's contents, and what is left of it. */
function erasedNotice(view) {
  return h('div', { class: 'form-message form-message-info erased-notice', role: 'note' },
    h('strong', null, t('letter.erased_title')), ' ',
    view.erased_at ? t('letter.erased_explained_on', { date: formatDate(view.erased_at) }) : t('letter.erased_explained'));
}

/**
 * @param {object} app
 * @param {{id: string}} params
 * @returns {Promise<HTMLElement>}
 */
export async function render(app, { id }) {
  const view = await app.store.getAppeal(id);
  if (!view) {
    return h('section', { class: 'screen' }, h('h1', null, t('letter.not_found')),
      h('a', { href: '#/journal', class: 'button button-secondary' }, t('common.back_to_journal')));
  }
  app.recordView?.(view.id); // an opening, for the audit: the letter's id and the time, nothing of its words
  const applicant = view.contents?.applicant || {};
  const calendar = await app.store.getMeta('calendar');
  const due = dueDate(view, calendar);
  const deadline = deadlineState(view, calendar, todayISO());
  const measures = view.contents?.case?.measures ?? [];
  const history = Array.isArray(view.history) ? view.history : [];

  return h('section', { class: 'screen' },
    // Back to the journal as it was left, its filters and search included.
    h('p', { class: 'breadcrumb' }, h('a', { href: journalLink() }, t('common.back_to_journal'))),
    h('div', { class: 'screen-title-row' },
      h('div', null,
        h('h1', null, letterTitle(view)),
        h('p', { class: 'chips' },
          h('span', { class: 'chip' }, term('status', view.status || 'registered')),
          view.erased && h('span', { class: 'chip chip-erased' }, t('letter.erased_chip')),
          view.urgent && h('span', { class: 'chip chip-urgent' }, t('letter.urgent')),
          deadline && deadline !== 'on_time' && h('span', { class: `chip chip-${deadline}` }, t(`deadline.${deadline}`)),
          view.pending > 0 && h('span', { class: 'chip chip-pending' }, t('letter.not_sent')),
          view.attention && h('a', { class: 'chip chip-attention', href: '#/attention' }, t('letter.needs_attention')))),
      // Only the keeper of the journal corrects it (ROLES_ALLOWED in sync/events.py); an erased case, nobody.
      app.session?.user?.role === 'pedagogue' && !view.erased
        && h('a', { href: `#/letter/${view.id}/amend`, class: 'button button-primary' }, t('letter.correct'))),
    isProvisional(view) && h('p', { class: 'form-message form-message-info' }, t('letter.provisional_explained')),
    view.erased && erasedNotice(view),
    view.urgent && !view.erased && urgentPanel(app.session?.school),
    h('div', { class: 'card' },
      h('h2', null, t('letter.section_journal')),
      h('dl', { class: 'details' },
        row(t('field.serial_no'), isProvisional(view) ? null : formatNumber(view.serial_no), { empty: t('letter.no_serial_yet') }),
        row(t('field.received_on'), formatDate(view.received_on)),
        row(t('field.school_year'), view.school_year ? `${view.school_year}–${view.school_year + 1}` : null),
        row(t('field.applicant'), applicantLabel(view), { className: view.anonymous ? 'is-anonymous' : null }),
        row(t('field.applicant_role'), term('role', view.applicant_role)),
        // An erased case has none of the letter's words left: no empty rows pretending they were never given.
        !view.erased && [
          row(t('field.age'), applicant.age === null || applicant.age === undefined ? null : formatNumber(applicant.age)),
          row(t('field.grade'), applicant.grade),
          !view.anonymous && row(t('field.address'), applicant.address),
          !view.anonymous && row(t('field.phone'), applicant.phone),
        ],
        row(t('field.category'), term('category', view.category)),
        !view.erased && [
          row(t('field.summary'), view.contents?.summary, { className: 'detail-wide' }),
          row(t('field.text'), view.contents?.text, { className: 'detail-wide detail-text' }),
          row(t('field.receipt_code'), view.contents?.receipt_code, { className: 'detail-code' }),
        ],
        row(t('field.due_date'), due ? formatDate(due) : null, { empty: t('letter.no_deadline') }),
        row(t('field.answered_on'), view.answered_on ? formatDate(view.answered_on) : null, { empty: t('letter.no_answer_yet') }),
        view.erased && row(t('case.field_closed_on'), view.closed_on ? formatDate(view.closed_on) : null, { empty: t('letter.erased_chip') }),
        !view.erased && row(t('field.measures'), measures.length > 0 ? measures.map((m) => t(`measure.${m.kind}`)).join(', ') : null,
          { empty: t('letter.no_measures_yet') }))),
    !view.erased && caseWorkCard(app, view),
    h('div', { class: 'card' },
      h('h2', null, t('history.title')),
      history.length === 0 ? h('p', { class: 'muted' }, t('history.empty'))
        : h('ol', { class: 'history' }, history.map(historyEntry))),
    h('p', { class: 'muted small' },
      view.registered_at && t('letter.registered_at', { time: formatDateTime(view.registered_at) }),
      view.registered_at && ' · ',
      t('letter.version', { version: formatNumber(view.version ?? 0) })));
}
