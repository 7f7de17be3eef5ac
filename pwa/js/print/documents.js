/**
 * The printed papers of the Trust Box: the act of opening the box, the minutes of the commission, the
 * notice for the stand, the sheet of receipt slips and the journal itself. Each renderer takes plain data
 * and returns one `<article class="print-doc …">` worded in the current language; `css/print.css` lays
 * it out on A4. To print, put the articles in the page, add the class `printing` to <body> (everything
 * else is then left off the paper) and call `window.print()`.
 */
import { h } from '../dom.js';
import { formatDate, formatNumber, language, t, term } from '../i18n.js';
import { applicantLabel } from '../applicant.js';

/** Slips on one A4 sheet: 3 columns × 8 rows. */
export const SLIPS_PER_SHEET = 24;

const DASH = '—';
const pad2 = (n) => String(n).padStart(2, '0');
const present = (value) => value !== null && value !== undefined && String(value).trim() !== '';

// ---- Shared pieces ---------------------------------------------------------------------------------------

function article(kind, label, ...children) {
  return h('article', { class: ['print-doc', `print-${kind}`], lang: language(), 'aria-label': label }, ...children);
}

function sheet(extraClass, ...children) {
  return h('section', { class: ['print-sheet', extraClass] }, ...children);
}

function schoolLine(school) {
  return present(school?.name) && h('p', { class: 'print-school' }, school.name);
}

function confidentialMark() {
  return h('p', { class: 'print-confidential' }, t('print.confidential'));
}

/** Label and value pairs, e.g. "Date: 3 October 2025". */
function facts(pairs) {
  return h('dl', { class: 'print-facts' }, pairs.map(([label, value]) => h('div', { class: 'print-fact' },
    h('dt', null, label), h('dd', null, value))));
}

/** "Name, position" of a person, or a dash where nobody is named. */
function person(entry) {
  if (!entry || !present(entry.name)) return DASH;
  return present(entry.position) ? `${entry.name}, ${entry.position}` : entry.name;
}

/** The competent official in a table cell: the name, and the position under it. */
function officialCell(official) {
  if (!official || !present(official.name)) return '';
  return [h('span', { class: 'print-line print-official-name' }, official.name),
    present(official.position) && h('span', { class: 'print-line print-official-position' }, official.position)];
}

/** A numbered list of people as "Name — position". */
function people(list) {
  return h('ol', { class: 'print-people' }, list.map((entry) => h('li', null,
    h('span', { class: 'print-person-name' }, entry.name),
    present(entry.position) && ` ${DASH} ${entry.position}`)));
}

/** One line to sign: who, then a rule to write on for each caption ("signature", "name"), captioned below. */
function signatureLine(who, captions = [t('print.signature')]) {
  return h('div', { class: 'print-signature' },
    h('span', { class: 'print-signature-who' }, who),
    captions.map((caption) => h('span', { class: 'print-signature-blank' }, h('span', { class: 'print-caption' }, caption))));
}

/** The time of day of a moment, as 24-hour "HH:MM" in the device's zone (as everywhere in Kyrgyzstan). */
function timeOfDay(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '' : `${pad2(date.getHours())}:${pad2(date.getMinutes())}`;
}

function numericDate(value) {
  return present(value) ? formatDate(value, 'numeric') : '';
}

function paragraphs(text) {
  return String(text).split(/\n\s*\n/).map((part) => part.trim()).filter(Boolean)
    .map((part) => h('p', { class: 'print-text' }, part));
}

// ---- The act of opening the box --------------------------------------------------------------------------

/**
 * The act of opening the Trust Box (regulation of School No. 31, §2.3–2.4): the working group opens the box,
 * counts the letters and signs; the act goes to the director.
 * @param {{id: string, opened_at: string, members: {name: string, position: string}[], letters_count: number,
 *   seal: 'intact'|'damaged'|'missing', remarks: string|null}} opening
 * @param {{name: string}} school
 * @returns {HTMLElement}
 */
export function renderAct(opening, school) {
  const members = opening.members ?? [];
  return article('act', t('print.act_title'),
    sheet(null,
      schoolLine(school),
      h('h1', { class: 'print-title' }, t('print.act_title')),
      facts([
        [t('print.act_date'), formatDate(opening.opened_at, 'long')],
        [t('print.act_time'), timeOfDay(opening.opened_at)],
      ]),
      h('p', { class: 'print-text' }, t('print.act_intro')),
      h('h2', { class: 'print-heading' }, t('print.act_members')),
      people(members),
      facts([
        [t('print.act_letters'), formatNumber(opening.letters_count ?? 0)],
        [t('print.act_seal'), term('print', `seal_${opening.seal}`)],
        [t('print.remarks'), present(opening.remarks) ? opening.remarks : t('print.no_remarks')],
      ]),
      h('p', { class: 'print-text' }, t('print.act_to_director')),
      h('h2', { class: 'print-heading' }, t('print.act_signatures')),
      h('div', { class: 'print-signatures' }, members.map((member) => signatureLine(person(member)))),
      h('div', { class: 'print-acknowledgement' },
        h('h2', { class: 'print-heading' }, t('print.director_ack')),
        signatureLine(t('print.director'), [t('print.signature'), t('print.name_caption')]),
        h('p', { class: 'print-date-blank' }, t('print.date_blank'))),
      present(opening.id) && h('p', { class: 'print-reference' }, t('print.act_reference', { id: opening.id }))));
}

// ---- The minutes of the commission -----------------------------------------------------------------------

const AGENDA_COLUMNS = [
  ['print.col_mark', 'col-mark'],
  ['journal.col_received', 'col-date'],
  ['field.summary', 'col-summary'],
  ['print.col_decision', 'col-decision'],
  ['print.col_official', 'col-official'],
  ['print.col_measures_planned', 'col-measures'],
];

function agendaRow(item) {
  return h('tr', null,
    h('td', { class: 'col-mark' }, item.mark),
    h('td', { class: 'col-date' }, numericDate(item.received_on)),
    h('td', { class: 'col-summary' }, item.summary ?? ''),
    h('td', { class: 'col-decision' }, item.decision ?? ''),
    h('td', { class: 'col-official' }, officialCell(item.official) || DASH),
    h('td', { class: 'col-measures' }, present(item.measures_planned) ? item.measures_planned : DASH));
}

/**
 * The minutes of a commission meeting (regulation of School No. 9: the commission meets weekly and reads the
 * letters together): who was there, whether they could decide, and what was decided on each letter.
 * @param {{id: string, held_on: string, quorum: boolean|number, members_present: {name: string, position: string}[],
 *   agenda: {mark: string, received_on: string, summary: string, decision: string,
 *   official: {name: string, position: string}|null, measures_planned: string|null}[]}} meeting
 * @param {{name: string}} school
 * @returns {HTMLElement}
 */
export function renderMinutes(meeting, school) {
  const members = meeting.members_present ?? [];
  const agenda = meeting.agenda ?? [];
  const provisional = agenda.some((item) => String(item.mark).startsWith('~'));
  // `quorum` is whether the meeting had one, or the number of members it needs.
  const quorate = typeof meeting.quorum === 'number' ? members.length >= meeting.quorum : Boolean(meeting.quorum);
  return article('minutes', t('print.minutes_title'),
    sheet(null,
      confidentialMark(),
      schoolLine(school),
      h('h1', { class: 'print-title' }, t('print.minutes_title')),
      facts([[t('print.minutes_date'), formatDate(meeting.held_on, 'long')]]),
      h('h2', { class: 'print-heading' }, t('print.minutes_present')),
      people(members),
      h('p', { class: 'print-text print-quorum' },
        t(quorate ? 'print.quorum_met' : 'print.quorum_not_met')),
      h('h2', { class: 'print-heading' }, t('print.agenda')),
      h('table', { class: ['print-table', 'print-agenda'] },
        h('thead', null, h('tr', null, AGENDA_COLUMNS.map(([key, cls]) => h('th', { class: cls, scope: 'col' }, t(key))))),
        h('tbody', null, agenda.length === 0
          ? h('tr', null, h('td', { class: 'print-empty', colspan: AGENDA_COLUMNS.length }, t('print.agenda_empty')))
          : agenda.map(agendaRow))),
      provisional && h('p', { class: 'print-note' }, t('journal.provisional_note')),
      h('h2', { class: 'print-heading' }, t('print.minutes_signatures')),
      h('div', { class: 'print-signatures' }, members.map((member) => signatureLine(person(member))))));
}

// ---- The notice for the stand ----------------------------------------------------------------------------

/**
 * The answer to an anonymous letter, for the stand next to the box (regulation of School No. 9, §4). It
 * shows the letter's mark, the date and the answer, or the fixed invitation to a personal conversation, and
 * the trust phones: nothing else of the notice object is read, so no name, address or summary can reach the
 * stand whatever the caller passes.
 * @param {{mark_kind: 'receipt_code'|'serial', receipt_code: string|null, serial_no: number,
 *   answered_on: string, kind: 'answer'|'invitation', text: string|null}} notice
 * @param {{name: string, trust_phones: {label: string, phone: string}[]}} school
 * @returns {HTMLElement}
 */
export function renderStandNotice(notice, school) {
  const { mark_kind: markKind, receipt_code: receiptCode, serial_no: serialNo, answered_on: answeredOn, kind, text } = notice;
  const byCode = markKind === 'receipt_code' && present(receiptCode);
  const phones = Array.isArray(school?.trust_phones) ? school.trust_phones : [];
  const invitation = kind === 'invitation';
  return article('notice', t('print.notice_title'),
    sheet(null,
      schoolLine(school),
      h('h1', { class: 'print-title' }, t('print.notice_title')),
      h('div', { class: 'print-notice-mark' },
        h('p', { class: 'print-notice-mark-label' }, t(byCode ? 'print.notice_by_code' : 'print.notice_by_number')),
        h('p', { class: ['print-notice-mark-value', byCode && 'print-code'] }, byCode ? receiptCode : `№ ${serialNo}`)),
      facts([[t('field.answered_on'), formatDate(answeredOn, 'long')]]),
      h('div', { class: 'print-notice-text' },
        invitation ? h('p', { class: 'print-text' }, t('print.notice_invitation')) : paragraphs(text ?? '')),
      phones.length > 0 && h('div', { class: 'print-phones' },
        h('h2', { class: 'print-heading' }, t('print.trust_phones')),
        h('ul', null, phones.map((entry) => h('li', null,
          h('span', { class: 'print-phone-label' }, entry.label), ` ${DASH} `,
          h('span', { class: 'print-phone-number' }, entry.phone))))),
      h('p', { class: 'print-note' }, t('print.notice_privacy'))));
}

// ---- The slips -------------------------------------------------------------------------------------------

function slip(code, school) {
  return h('div', { class: 'print-slip' },
    h('div', null,
      h('p', { class: 'print-slip-head' }, t('print.trust_box')),
      present(school?.name) && h('p', { class: 'print-slip-school' }, school.name)),
    h('p', { class: 'print-slip-code print-code' }, code),
    h('p', { class: 'print-slip-instruction' }, t('print.slip_instruction')));
}

/**
 * A4 sheets of tear-off receipt slips, 24 to a sheet, cut along the dashed lines.
 * @param {string[]} codes from `generateReceiptCodes` (print/codes.js)
 * @param {{name: string}} school
 * @returns {HTMLElement}
 */
export function renderSlips(codes, school) {
  const sheets = [];
  for (let start = 0; start < codes.length; start += SLIPS_PER_SHEET) {
    sheets.push(sheet('print-slip-sheet',
      h('div', { class: 'print-slip-grid' }, codes.slice(start, start + SLIPS_PER_SHEET).map((code) => slip(code, school)))));
  }
  return article('slips', t('print.slips_title'), sheets);
}

// ---- The journal -----------------------------------------------------------------------------------------

const JOURNAL_COLUMNS = [
  ['journal.col_number', 'col-serial'],
  ['field.received_on', 'col-date'],
  ['print.col_applicant', 'col-applicant'],
  ['print.col_contact', 'col-contact'],
  ['field.summary', 'col-summary'],
  ['print.col_official', 'col-official'],
  ['field.answered_on', 'col-date'],
  ['field.measures', 'col-measures'],
];

/** The applicant column: the name and age, or the mark «анонимдүү». */
function applicantCell(row) {
  const label = applicantLabel({ anonymous: row.anonymous, erased: row.erased, contents: { applicant: { full_name: row.full_name } } });
  return !row.anonymous && present(row.age) ? `${label}, ${row.age}` : label;
}

function contactCell(row) {
  if (row.anonymous) return '';
  return [row.address, row.phone].filter(present).map((line) => h('span', { class: 'print-line' }, line));
}

function measuresLines(row) {
  return (row.measures ?? []).filter(present).map((line) => h('span', { class: 'print-line' }, line));
}

function journalRow(row) {
  // A letter not accepted (obscene words) keeps its number; it has no answer, so the mark spans the answer
  // and measures columns, where a narrow date column would break its words.
  const answer = row.not_accepted
    ? h('td', { class: 'col-not-accepted', colspan: 2 },
      h('span', { class: 'print-line print-not-accepted' }, t('print.not_accepted')), measuresLines(row))
    : [h('td', { class: 'col-date' }, numericDate(row.answered_on)), h('td', { class: 'col-measures' }, measuresLines(row))];
  return h('tr', { class: row.not_accepted ? 'is-not-accepted' : null },
    h('td', { class: 'col-serial' }, String(row.serial_no)),
    h('td', { class: 'col-date' }, numericDate(row.received_on)),
    h('td', { class: ['col-applicant', row.anonymous && 'is-anonymous'] }, applicantCell(row)),
    h('td', { class: 'col-contact' }, contactCell(row)),
    h('td', { class: 'col-summary' }, row.summary ?? ''),
    h('td', { class: 'col-official' }, officialCell(row.official)),
    answer);
}

function chainHead(journal) {
  return h('span', { class: 'print-hash' }, present(journal.chain_head) ? journal.chain_head : DASH);
}

function journalTitleSheet(journal, school) {
  const year = Number(journal.school_year);
  const first = (journal.rows ?? []).map((row) => row.received_on).filter(present).sort()[0];
  return sheet('print-title-sheet',
    confidentialMark(),
    schoolLine(school),
    h('h1', { class: 'print-title print-journal-title' }, t('journal.title')),
    h('p', { class: 'print-school-year' }, `${t('field.school_year')}: ${year}–${year + 1}`),
    h('div', { class: 'print-title-columns' },
      h('div', null,
        facts([
          [t('print.journal_started'), first ? numericDate(first) : ''],
          [t('print.journal_finished'), ''],
        ]),
        signatureLine(t('print.journal_keeper'), [t('print.signature'), t('print.name_caption')])),
      h('div', { class: 'print-chain' },
        h('p', { class: 'print-chain-label' }, t('print.chain_head')),
        h('p', null, chainHead(journal)),
        h('p', { class: 'print-note' }, t('print.chain_head_explained')),
        present(journal.printed_at) && h('p', { class: 'print-note' }, t('print.printed_at', {
          time: `${formatDate(journal.printed_at, 'long')}, ${timeOfDay(journal.printed_at)}`,
        })))),
    h('div', { class: 'print-certification' },
      h('p', { class: 'print-text' }, t('print.journal_certify')),
      signatureLine(t('print.director'), [t('print.signature'), t('print.name_caption')]),
      h('p', { class: 'print-stamp' }, t('print.stamp'))));
}

/**
 * The printed journal (both regulations' columns): a title page, then the table. The chain head is on the
 * title page and in the table's footer, which Chromium repeats on every printed page; the pages are
 * numbered "N / M" by print.css.
 * @param {{school_year: number, chain_head: string, printed_at?: string, rows: {serial_no: number,
 *   received_on: string, anonymous: boolean, full_name: string|null, age: number|null, address: string|null,
 *   phone: string|null, summary: string, official: {name: string, position: string}|null,
 *   answered_on: string|null, measures: string[], not_accepted: boolean, erased?: boolean}[]}} journal
 * @param {{name: string}} school
 * @returns {HTMLElement}
 */
export function renderJournal(journal, school) {
  const rows = journal.rows ?? [];
  const span = JOURNAL_COLUMNS.length;
  return article('journal', t('journal.title'),
    journalTitleSheet(journal, school),
    sheet('print-table-sheet',
      h('table', { class: ['print-table', 'print-journal-table'] },
        h('thead', null,
          h('tr', null, JOURNAL_COLUMNS.map(([key, cls]) => h('th', { class: cls, scope: 'col' }, t(key)))),
          h('tr', { class: 'print-column-numbers' }, JOURNAL_COLUMNS.map((_, i) => h('th', null, String(i + 1))))),
        h('tfoot', null, h('tr', null, h('td', { colspan: span },
          h('span', { class: 'print-chain-label' }, t('print.chain_head')), ' ', chainHead(journal)))),
        h('tbody', null, rows.length === 0
          ? h('tr', null, h('td', { class: 'print-empty', colspan: span }, t('journal.empty')))
          : rows.map(journalRow)))));
}

// ---- The monthly information ------------------------------------------------------------------------------

/** The server's word for a count of one or two (server/services/figures.py hides them). */
const FEWER_THAN_3 = '<3';

/**
 * A count of the monthly report as printed: the number, or "fewer than 3" for a hidden small count.
 * @param {number|string|null|undefined} value
 * @returns {string}
 */
export function reportCount(value) {
  if (value === FEWER_THAN_3) return t('print.report_fewer_than_3');
  if (typeof value === 'number') return formatNumber(value);
  return present(value) ? String(value) : DASH;
}

/** A share (0..1) as a percentage; the server leaves it out (null) where it would reveal a small count. */
function reportShare(share, whole) {
  if (typeof share === 'number') return formatNumber(share, { style: 'percent', maximumFractionDigits: 0 });
  return whole === 0 || !present(whole) ? DASH : t('print.report_not_shown');
}

function figuresTable(caption, rows) {
  return h('table', { class: ['print-table', 'print-figures'] },
    h('thead', null, h('tr', null,
      h('th', { class: 'col-item', scope: 'col' }, caption),
      h('th', { class: 'col-count', scope: 'col' }, t('print.report_col_count')))),
    h('tbody', null, rows.map(([label, value]) => h('tr', null,
      h('th', { class: 'col-item', scope: 'row' }, label),
      h('td', { class: 'col-count' }, value)))));
}

/** Rows of a vocabulary's counts, in the server's order: `{bullying: 3, …}` → [[«Буллинг», "3"], …]. */
function vocabularyRows(group, counts) {
  return Object.entries(counts ?? {}).map(([code, count]) => [term(group, code), reportCount(count)]);
}

/**
 * The monthly information on the work of the Trust Box (regulation 003 §2.6, due by the 5th of the next
 * month): the letters received that month counted by category, by who wrote and by outcome, the measures
 * taken, and the openings and meetings held. Everything in it is an aggregate from the server; counts of one
 * or two arrive as "<3" and are printed as "fewer than 3". No name and no word of a letter can reach it.
 * @param {{month: string, figures: {from: string, to: string, complete: boolean, received: number|string,
 *   by_category: Object<string, number|string>, by_applicant_role: Object<string, number|string>,
 *   anonymous: number|string, anonymous_share: number|null, not_accepted: number|string, referred: number|string,
 *   answered: number|string, answered_on_time: number|string, answered_on_time_share: number|null,
 *   average_days_to_answer: number|null, closed: number|string, measures: Object<string, number|string>,
 *   openings: number, meetings: number}}} report
 * @param {{name: string}} school
 * @returns {HTMLElement}
 */
export function renderMonthlyReport(report, school) {
  const f = report.figures ?? {};
  const [year, month] = String(report.month).split('-').map(Number);
  const title = t('print.report_title', { year, month: t(`report.month_${month}`) });
  const days = typeof f.average_days_to_answer === 'number'
    ? formatNumber(f.average_days_to_answer, { maximumFractionDigits: 1 })
    : reportShare(null, f.answered);
  return article('report', title,
    sheet(null,
      schoolLine(school),
      h('h1', { class: 'print-title' }, title),
      facts([[t('print.report_period'), `${numericDate(f.from)} – ${numericDate(f.to)}`]]),
      f.complete === false && h('p', { class: 'print-note print-report-incomplete' }, t('print.report_incomplete')),
      h('h2', { class: 'print-heading' }, t('print.report_letters')),
      facts([
        [t('print.report_received'), reportCount(f.received)],
        [t('print.report_anonymous'), reportCount(f.anonymous)],
        [t('print.report_anonymous_share'), reportShare(f.anonymous_share, f.received)],
      ]),
      h('div', { class: 'print-report-columns' },
        h('div', null, figuresTable(t('print.report_by_category'), vocabularyRows('category', f.by_category))),
        h('div', null,
          figuresTable(t('print.report_by_role'), vocabularyRows('role', f.by_applicant_role)),
          figuresTable(t('print.report_measures'), vocabularyRows('measure', f.measures)))),
      h('div', { class: 'print-report-columns print-report-outcomes' },
        h('div', null, figuresTable(t('print.report_outcomes'), [
          [t('print.report_not_accepted'), reportCount(f.not_accepted)],
          [t('print.report_referred'), reportCount(f.referred)],
          [t('print.report_answered'), reportCount(f.answered)],
          [t('print.report_on_time'), reportCount(f.answered_on_time)],
          [t('print.report_on_time_share'), reportShare(f.answered_on_time_share, f.answered)],
          [t('print.report_average_days'), days],
          [t('print.report_closed'), reportCount(f.closed)],
        ])),
        h('div', null, figuresTable(t('print.report_box'), [
          [t('print.report_openings'), reportCount(f.openings)],
          [t('print.report_meetings'), reportCount(f.meetings)],
        ]))),
      h('p', { class: 'print-note print-report-note' }, t('print.report_small_note')),
      signatureLine(t('print.report_prepared_by'), [t('print.signature'), t('print.name_caption')]),
      h('p', { class: 'print-date-blank' }, t('print.date_blank'))));
}
