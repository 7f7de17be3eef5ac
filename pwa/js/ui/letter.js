/**
 * A letter's page: every journal field, the urgent guidance when it is urgent, and its history of events
 * (ui/history.js: each correction's values before and after, who, when, on which device, still waiting to
 * be sent). A reader the server sends no contents to (a director without access) sees the letter's words as
 * "hidden" and its case work from the history's facts. A correction of this device that another device
 * replaced is named in a banner, until the letter is opened. A case whose contents the retention period
 * erased shows its journal row and history only, says so, and offers no correction and no case work.
 */
import { h } from '../dom.js';
import { t, term, formatDate, formatDateTime, formatNumber } from '../i18n.js';
import { supersededCorrections } from '../history.js';
import { applicantLabel, deadlineState, dueDate, isProvisional, letterMark, todayISO } from './format.js';
import { caseWorkCard, measuresOf } from './casework.js';
import { authorLine, historyEntry, pathLabel } from './history.js';
import { journalLink } from './journal.js';
import { urgentPanel } from './urgent.js';

/**
 * The label of a changed field's dotted path, e.g. 'applicant.phone' → "Phone".
 * @param {string} path
 * @returns {string}
 */
export function fieldLabel(path) {
  return pathLabel(path);
}

/**
 * This device's corrections of a letter that another device replaced and the person has not seen yet.
 * @param {object} view
 * @param {string|null} deviceId
 */
export function unseenSuperseded(view, deviceId) {
  const seen = new Set(view.superseded_seen ?? []);
  return supersededCorrections(view.history, deviceId).filter((item) => !seen.has(item.id));
}

// The banner stays while the page is redrawn (after a sync) in the visit that noted it as seen.
let banner = { id: null, items: [] };

function supersededBanner(items) {
  return h('div', { class: 'form-message form-message-warning superseded-banner', role: 'note' },
    h('strong', null, t('superseded.title')),
    h('ul', null, items.map((item) => h('li', null, t('superseded.line', {
      who: authorLine(item) ?? '—',
      fields: item.fields.map(pathLabel).join(', '),
      when: item.at ? formatDateTime(item.at) : '—',
    })))));
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
  const measures = measuresOf(view);
  const history = Array.isArray(view.history) ? view.history : [];
  const hidden = Boolean(view.contents_hidden);
  const secret = hidden ? { empty: t('letter.hidden'), className: 'is-hidden' } : {};
  const unseen = unseenSuperseded(view, app.session?.device_id ?? null);
  if (unseen.length > 0) {
    banner = { id: view.id, items: unseen };
    await app.store.markSupersededSeen(view.id, unseen.map((item) => item.id));
  } else if (banner.id !== view.id) {
    banner = { id: null, items: [] };
  }
  const superseding = new Set(supersededCorrections(history, app.session?.device_id ?? null).map((item) => item.id));

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
    banner.id === view.id && banner.items.length > 0 && supersededBanner(banner.items),
    view.erased && erasedNotice(view),
    view.urgent && !view.erased && urgentPanel(app.session?.school),
    h('div', { class: 'card' },
      h('h2', null, t('letter.section_journal')),
      h('dl', { class: 'details' },
        row(t('field.serial_no'), isProvisional(view) ? null : formatNumber(view.serial_no), { empty: t('letter.no_serial_yet') }),
        row(t('field.received_on'), formatDate(view.received_on)),
        row(t('field.school_year'), view.school_year ? `${view.school_year}–${view.school_year + 1}` : null),
        row(t('field.applicant'), applicantLabel(view), { className: view.anonymous ? 'is-anonymous' : hidden ? 'is-hidden' : null }),
        row(t('field.applicant_role'), term('role', view.applicant_role)),
        // An erased case has none of the letter's words left: no empty rows pretending they were never given.
        !view.erased && [
          row(t('field.age'), applicant.age === null || applicant.age === undefined ? null : formatNumber(applicant.age), secret),
          row(t('field.grade'), applicant.grade, secret),
          !view.anonymous && row(t('field.address'), applicant.address, secret),
          !view.anonymous && row(t('field.phone'), applicant.phone, secret),
        ],
        row(t('field.category'), term('category', view.category)),
        !view.erased && [
          row(t('field.summary'), view.contents?.summary, { className: 'detail-wide', ...secret }),
          row(t('field.text'), view.contents?.text, { className: 'detail-wide detail-text', ...secret }),
          row(t('field.receipt_code'), view.contents?.receipt_code, { className: 'detail-code', ...secret }),
        ],
        row(t('field.due_date'), due ? formatDate(due) : null, { empty: t('letter.no_deadline') }),
        row(t('field.answered_on'), view.answered_on ? formatDate(view.answered_on) : null, { empty: t('letter.no_answer_yet') }),
        view.erased && row(t('case.field_closed_on'), view.closed_on ? formatDate(view.closed_on) : null, { empty: t('letter.erased_chip') }),
        !view.erased && row(t('field.measures'), measures.length > 0 ? measures.map((kind) => term('measure', kind)).join(', ') : null,
          { empty: t('letter.no_measures_yet') }))),
    !view.erased && caseWorkCard(app, view),
    h('div', { class: 'card' },
      h('h2', null, t('history.title')),
      history.length === 0 ? h('p', { class: 'muted' }, t('history.empty'))
        : h('ol', { class: 'history' }, history.map((entry) => historyEntry(entry, { superseded: superseding })))),
    h('p', { class: 'muted small' },
      view.registered_at && t('letter.registered_at', { time: formatDateTime(view.registered_at) }),
      view.registered_at && ' · ',
      t('letter.version', { version: formatNumber(view.version ?? 0) })));
}
