/**
 * The journal: one row per letter, the paper journal's columns first (number, date received, applicant),
 * then category, status and the due date of the answer; above it the filters the pedagogue and the
 * commission find letters with (ui/filters.js). The filters live in the hash query
 * (#/journal?status=answered&s=…), so Back returns to the previous ones; the search runs over the letters
 * decrypted on this tablet, and what was typed is kept in this tab's memory only: the hash names it by a
 * random reference (`createSearchMemory`), since the browser writes addresses to disk.
 */
import { h, replaceChildren } from '../dom.js';
import { t, term, formatDate, formatNumber } from '../i18n.js';
import { supersededCorrections } from '../history.js';
import { CATEGORIES } from '../vocabulary.js';
import { cadenceAlerts } from './openings.js';
import { reportReminder } from './reminders.js';
import { field, select, toggle } from './fields.js';
import {
  applyFilters, createSearchMemory, DEADLINE_FILTERS, isFiltered, journalHash, MAX_QUERY, nextAgenda, parseFilters, STATUS_FILTERS,
} from './filters.js';
import { applicantLabel, deadlineState, dueDateText, isProvisional, letterMark, shortDate, todayISO } from './format.js';

/** The journal's hash as last shown (filters included), for the way back from a letter; memory only. */
let lastHash = '#/journal';
/** The words searched in this tab, behind the references the hash carries. */
const searches = createSearchMemory();

/** @returns {string} the journal with the filters it last showed, e.g. '#/journal?status=answered' */
export function journalLink() {
  return lastHash;
}

/** Whether another device replaced a correction of this device and the letter was not opened since. */
function superseded(view, deviceId) {
  const seen = new Set(view.superseded_seen ?? []);
  return supersededCorrections(view.history, deviceId).some((item) => !seen.has(item.id));
}

function statusCell(view, deviceId) {
  return h('span', { class: 'cell-status' },
    h('span', { class: 'chip' }, term('status', view.status || 'registered')),
    view.erased && h('span', { class: 'chip chip-erased' }, t('letter.erased_chip')),
    view.pending > 0 && h('span', { class: 'chip chip-pending' }, t('letter.not_sent')),
    view.attention && h('span', { class: 'chip chip-attention' }, t('letter.needs_attention')),
    superseded(view, deviceId) && h('span', { class: 'chip chip-attention chip-superseded' }, t('superseded.chip')));
}

function row(view, calendar, today, deviceId) {
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
          h('span', { class: 'cell-label' }, t('journal.col_status')), statusCell(view, deviceId))),
      h('span', { class: ['cell-due', deadline && `is-${deadline}`] },
        h('span', { class: 'cell-label' }, t('journal.col_due')), dueDateText(view, calendar),
        deadline && deadline !== 'on_time' && h('span', { class: `chip chip-${deadline}` }, t(`deadline.${deadline}`)))));
}

/**
 * The filter bar: its controls reflect `filters`; every change calls `onChange(next, {push})`, where `push`
 * says whether the change deserves its own step in the history (a choice does; each keystroke of the
 * search only replaces the current step).
 */
function filterBar(filters, { agendaDay, searchable, onChange }) {
  const any = t('journal.filter_any');
  const search = h('input', {
    type: 'search', name: 'q', value: filters.q, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off',
    enterkeyhint: 'search', maxlength: MAX_QUERY, class: 'filter-search-input',
  });
  const status = select({ name: 'status', value: filters.status, placeholder: any,
    options: STATUS_FILTERS.map((code) => [code, term('status', code)]) });
  const category = select({ name: 'category', value: filters.category, placeholder: any,
    options: CATEGORIES.map((code) => [code, term('category', code)]) });
  const deadline = select({ name: 'deadline', value: filters.deadline, placeholder: any,
    options: DEADLINE_FILTERS.map((code) => [code, t(`deadline.${code}`)]) });
  const from = h('input', { type: 'date', name: 'from', value: filters.from });
  const to = h('input', { type: 'date', name: 'to', value: filters.to });
  const urgent = toggle({ name: 'urgent', label: t('journal.filter_urgent'), checked: filters.urgent });
  const agenda = h('button', { type: 'button', class: 'button button-secondary filter-agenda', name: 'agenda',
    'aria-pressed': filters.agenda ? 'true' : 'false' }, t('journal.filter_agenda', { date: formatDate(agendaDay, 'short') }));

  const read = () => ({
    q: search.value, status: status.value, category: category.value, deadline: deadline.value,
    urgent: urgent.control.checked, from: from.value, to: to.value, agenda: agenda.getAttribute('aria-pressed') === 'true',
  });
  // Each visit to the search box is one step in the history, however many keys it takes.
  let typing = false;
  search.addEventListener('focus', () => {
    typing = search.dataset.resumed === 'true'; // focus given back after a sync's redraw: the same visit
    delete search.dataset.resumed;
  });
  search.addEventListener('input', () => {
    onChange(read(), { push: !typing });
    typing = true;
  });
  for (const control of [status, category, deadline, urgent.control]) {
    control.addEventListener('change', () => onChange(read(), { push: true }));
  }
  // A date typed digit by digit changes several times in a row: one step in the history for all of them.
  let lastDate = { control: null, at: 0 };
  for (const control of [from, to]) {
    control.addEventListener('change', () => {
      const now = Date.now();
      onChange(read(), { push: lastDate.control !== control || now - lastDate.at > 2000 });
      lastDate = { control, at: now };
    });
  }
  agenda.addEventListener('click', () => {
    agenda.setAttribute('aria-pressed', agenda.getAttribute('aria-pressed') === 'true' ? 'false' : 'true');
    onChange(read(), { push: true });
  });

  const element = h('div', { class: 'card journal-filters', role: 'search', 'aria-label': t('journal.filters_label') },
    searchable && field({ label: t('journal.search_label'), control: search, hint: t('journal.search_hint'), className: 'filter-search' }),
    h('div', { class: 'filter-grid' },
      field({ label: t('journal.col_status'), control: status }),
      field({ label: t('journal.col_category'), control: category }),
      field({ label: t('journal.col_due'), control: deadline }),
      field({ label: t('journal.filter_from'), control: from }),
      field({ label: t('journal.filter_to'), control: to }),
      urgent),
    h('div', { class: 'filter-quick' }, agenda));
  return { element, search: searchable ? search : null };
}

/**
 * @param {object} app
 * @param {{query?: string}} [params] the hash's query, after "?"
 * @returns {Promise<HTMLElement>}
 */
export async function render(app, { query = '' } = {}) {
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
  const meetings = await app.store.listRecords('meeting');
  const awaiting = role === 'director' ? openings.filter((o) => !o.acknowledged_at) : [];
  const alerts = role === 'pedagogue' || role === 'director' ? cadenceAlerts(openings, app.session?.school, today) : [];
  const reminder = await reportReminder(app, today); // the monthly information, due by the 5th

  let filters = parseFilters(query, searches);
  // A director's tablet may hold no letter's words: nothing to search there.
  const searchable = views.some((view) => view.contents && !view.contents_hidden);
  if (!searchable) filters.q = '';
  const agenda = nextAgenda(views, meetings, today, app.session?.school?.commission_day ?? 4);
  const context = { calendar, today, agenda: agenda.ids };
  // One row per letter, built once: a keystroke in the search only chooses which of them are shown.
  const deviceId = app.session?.device_id ?? null;
  const rows = new Map(views.map((view) => [view.id, row(view, calendar, today, deviceId)]));
  const count = h('p', { class: 'filter-count', role: 'status' });
  const clearButton = h('button', { type: 'button', class: 'button button-secondary button-small filter-clear' }, t('journal.clear_filters'));
  const results = h('div', { class: 'journal-results' });

  const show = () => {
    const shown = applyFilters(views, filters, context);
    count.textContent = t('journal.shown_count', { shown: formatNumber(shown.length), total: formatNumber(views.length) });
    clearButton.hidden = !isFiltered(filters);
    replaceChildren(results, shown.length > 0
      ? h('div', { class: 'journal' }, header, h('ul', { class: 'journal-list', 'aria-label': t('journal.title') }, shown.map((view) => rows.get(view.id))))
      : h('div', { class: 'empty card journal-no-match' }, h('p', null, t('journal.no_match')),
        h('button', { type: 'button', class: 'button button-secondary', onclick: () => clearButton.click() }, t('journal.clear_filters'))));
  };
  // The hash follows the filters without a new render (the history API fires no hashchange); Back does
  // fire one, and the router renders the journal of the step it returns to.
  const onChange = (next, { push }) => {
    filters = next;
    lastHash = journalHash(filters, searches);
    if (lastHash !== location.hash) history[push ? 'pushState' : 'replaceState'](history.state, '', lastHash);
    show();
  };
  lastHash = journalHash(filters, searches);

  let bar = null;
  if (views.length > 0) {
    bar = filterBar(filters, { agendaDay: agenda.day, searchable, onChange });
    clearButton.addEventListener('click', () => {
      app.navigate('#/journal');
    });
    show();
    if (bar.search) keepSearchFocus(bar.search);
  }

  return h('section', { class: 'screen screen-wide' },
    h('div', { class: 'screen-title-row' },
      h('div', null,
        h('h1', null, t('journal.title')),
        views.length === 0 && h('p', { class: 'muted' }, t('journal.count', { count: views.length }))),
      h('div', { class: 'title-actions' },
        h('a', { href: '#/print/journal', class: 'button button-secondary' }, t('print.journal_link')),
        role === 'pedagogue' && h('a', { href: '#/print/slips', class: 'button button-secondary' }, t('print.slips_link')),
        role === 'pedagogue' && h('a', { href: '#/new', class: 'button button-primary' },
          h('span', { class: 'plus-glyph', 'aria-hidden': 'true' }, '+'), ' ', t('nav.new_letter')))),
    reminder,
    alerts.map((text) => h('p', { class: 'form-message form-message-warning cadence-alert', role: 'status' }, text)),
    awaiting.length > 0 && h('p', { class: 'form-message form-message-info acts-awaiting', role: 'status' },
      h('a', { href: '#/openings' }, t('journal.acts_awaiting', { count: awaiting.length }))),
    views.length === 0
      ? h('div', { class: 'empty card' }, h('p', null, t('journal.empty')),
        role === 'pedagogue' && h('a', { href: '#/new', class: 'button button-primary' }, t('journal.register_first')))
      : [bar.element, h('div', { class: 'filter-summary' }, count, clearButton), results],
    !calendar && views.length > 0 && h('p', { class: 'muted small footnote' }, t('journal.due_estimate_note')),
    provisional > 0 && h('p', { class: 'muted small footnote' }, t('journal.provisional_note')));
}

/**
 * A sync redraws the journal while someone may be typing in the search: the new box takes the focus and
 * the caret of the old one, once the router has put it in place.
 * @param {HTMLInputElement} search the new search box
 */
function keepSearchFocus(search) {
  const old = document.activeElement;
  if (!(old instanceof HTMLInputElement) || old.name !== 'q' || !old.closest('.journal-filters')) return;
  const { selectionStart, selectionEnd } = old;
  setTimeout(() => {
    if (!search.isConnected || document.activeElement === search) return;
    search.dataset.resumed = 'true';
    search.focus({ preventScroll: true });
    search.setSelectionRange(selectionStart, selectionEnd);
  }, 0);
}
