/**
 * The journal's filters, pure: what the hash query (#/journal?status=answered&s=…) asks for, the text a
 * letter is searched by, and which letters match. Nothing here touches the DOM, the store or the network:
 * the search runs over the letters already decrypted on this tablet, and what was typed lives in the tab's
 * memory only (`createSearchMemory`), never in the address, localStorage, IndexedDB or a request.
 */
import { addDays } from '../protocol.js';
import { CATEGORIES } from '../vocabulary.js';
import { agendaOf } from './meetings.js';
import { deadlineState } from './format.js';

/** The statuses the filter offers, in the order a case moves through them. */
export const STATUS_FILTERS = Object.freeze(['registered', 'in_progress', 'answered', 'closed', 'not_accepted']);
/** Where a letter stands against its deadline (`deadlineState`). */
export const DEADLINE_FILTERS = Object.freeze(['overdue', 'due_soon']);
/** The longest search kept from a query; a longer one is cut (nobody types more to find a letter). */
export const MAX_QUERY = 200;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Searches remembered per tab; older ones are forgotten first (a Back that far finds no words). */
export const MAX_SEARCHES = 500;

/**
 * What was typed in the search, kept by an opaque reference. The hash carries `s=<random id>`, never the
 * words: Chromium writes every address a tab visits to its profile on disk (History, the session-restore
 * files, Favicons, metrics), unencrypted, where a stolen tablet would show a child's name searched for.
 * The words stay in this map, in the tab's memory: Back and Forward find them again, a reload forgets them.
 * @param {{randomBytes?: (n: number) => Uint8Array, limit?: number}} [deps]
 */
export function createSearchMemory({
  randomBytes = (n) => crypto.getRandomValues(new Uint8Array(n)), limit = MAX_SEARCHES,
} = {}) {
  const byId = new Map();
  return {
    /** @returns {string} the reference of `text` (the same one for the same words) */
    remember(text) {
      for (const [id, known] of byId) if (known === text) return id;
      // Random, not counted: after a reload an old step's reference must not name a newer search.
      const id = [...randomBytes(8)].map((b) => b.toString(16).padStart(2, '0')).join('');
      byId.set(id, text);
      if (byId.size > limit) byId.delete(byId.keys().next().value);
      return id;
    },
    /** @returns {string} the words behind a reference, or '' when this tab does not know it */
    recall: (id) => byId.get(id) ?? '',
  };
}

/** @returns {object} filters that let every letter through */
export function emptyFilters() {
  return { q: '', status: '', category: '', deadline: '', urgent: false, from: '', to: '', agenda: false };
}

/**
 * The filters a hash query asks for; anything unknown or malformed is dropped, never trusted. The search
 * comes from `searches` by its reference; words in the address itself (an old `q=`) are never read.
 * @param {string} [query] the part after "?", with or without the "?"
 * @param {{recall: (id: string) => string}|null} [searches] this tab's `createSearchMemory()`
 * @returns {{q: string, status: string, category: string, deadline: string, urgent: boolean, from: string, to: string, agenda: boolean}}
 */
export function parseFilters(query = '', searches = null) {
  const params = new URLSearchParams(String(query ?? '').replace(/^\?/, ''));
  const pick = (name, allowed) => (allowed.includes(params.get(name)) ? params.get(name) : '');
  const date = (name) => {
    const value = params.get(name) ?? '';
    return ISO_DATE.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) ? value : '';
  };
  return {
    q: [...(searches?.recall(params.get('s') ?? '') ?? '')].slice(0, MAX_QUERY).join(''),
    status: pick('status', STATUS_FILTERS),
    category: pick('category', CATEGORIES),
    deadline: pick('deadline', DEADLINE_FILTERS),
    urgent: params.get('urgent') === '1',
    from: date('from'),
    to: date('to'),
    agenda: params.get('agenda') === 'next',
  };
}

/**
 * The hash of the journal showing these filters, in a fixed order; `#/journal` when none is set. The
 * search is written as its reference in `searches`, and left out without one.
 * @param {object} filters
 * @param {{remember: (text: string) => string}|null} [searches] this tab's `createSearchMemory()`
 * @returns {string}
 */
export function journalHash(filters, searches = null) {
  const f = { ...emptyFilters(), ...filters };
  const params = new URLSearchParams();
  if (f.agenda) params.set('agenda', 'next');
  if (f.status) params.set('status', f.status);
  if (f.category) params.set('category', f.category);
  if (f.deadline) params.set('deadline', f.deadline);
  if (f.urgent) params.set('urgent', '1');
  if (f.from) params.set('from', f.from);
  if (f.to) params.set('to', f.to);
  if (f.q.trim() && searches) params.set('s', searches.remember(f.q));
  const query = params.toString();
  return query ? `#/journal?${query}` : '#/journal';
}

/** @returns {boolean} whether any filter narrows the journal */
export function isFiltered(filters) {
  const f = { ...emptyFilters(), ...filters };
  return Boolean(f.q.trim() || f.status || f.category || f.deadline || f.urgent || f.from || f.to || f.agenda);
}

/**
 * Text folded for comparison: Unicode NFC, lower case by the locale rules (Cyrillic, Kyrgyz ң ө ү
 * included), ё as е, and every run of spaces as one space.
 * @param {*} text
 * @returns {string}
 */
export function fold(text) {
  return String(text ?? '').normalize('NFC').toLocaleLowerCase().replace(/ё/g, 'е').replace(/\s+/g, ' ').trim();
}

/**
 * Everything a letter can be found by, as the tablet holds it decrypted: the summary, the text, the
 * applicant's name, the receipt code, and the case work's words (decisions and officials, referrals and
 * the authorities' feedback, answers, measures, the closing's outcome, the reason it was not accepted).
 * @param {object} view an appeal view
 * @returns {string} folded, the parts separated by a line break (a search never spans two of them)
 */
export function searchText(view) {
  const contents = view?.contents;
  if (!contents) return '';
  const work = contents.case ?? {};
  const parts = [
    contents.summary, contents.text, contents.applicant?.full_name, contents.receipt_code,
    work.not_accepted?.reason,
    ...(work.decisions ?? []).flatMap((d) => [d.decision, d.official?.name, d.official?.position, d.measures_planned]),
    ...(work.referrals ?? []).flatMap((r) => [r.outgoing_no, r.contact, r.note, r.feedback?.text]),
    ...(work.answers ?? []).map((a) => a.text),
    ...(work.measures ?? []).flatMap((m) => [m.description, m.taken_by]),
    work.closed?.outcome,
  ];
  return parts.filter((part) => typeof part === 'string' && part.trim()).map(fold).join('\n');
}

/**
 * The words of a search: every one must occur in the letter, in any order.
 * @param {string} q
 * @returns {string[]}
 */
export function searchWords(q) {
  const folded = fold(q);
  return folded ? folded.split(' ') : [];
}

/**
 * The commission's next meeting day: its weekday (Monday 0, the school's `commission_day`) on or after
 * today, or a week later when a meeting is already recorded on that day.
 * @param {string} today YYYY-MM-DD
 * @param {number} [weekday] 4 = Friday
 * @param {Array<{held_on: string}>} [meetings]
 * @returns {string} YYYY-MM-DD
 */
export function nextCommissionDay(today, weekday = 4, meetings = []) {
  const day = (new Date(`${today}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday 0
  const next = addDays(today, (weekday - day + 7) % 7);
  return meetings.some((m) => m.held_on === next) ? addDays(next, 7) : next;
}

/**
 * The ids of the letters on the next meeting's agenda (as the meeting's form would list them).
 * @param {object[]} views
 * @param {Array<{held_on: string}>} meetings
 * @param {string} today
 * @param {number} [weekday]
 * @returns {{day: string, ids: Set<string>}}
 */
export function nextAgenda(views, meetings, today, weekday = 4) {
  const day = nextCommissionDay(today, weekday, meetings);
  const dated = views.filter((view) => ISO_DATE.test(view.received_on ?? ''));
  return { day, ids: new Set(agendaOf(dated, meetings, day).map((view) => view.id)) };
}

/**
 * A test for one letter against the filters.
 * @param {object} filters as parseFilters returns them
 * @param {{calendar?: object|null, today: string, agenda?: Set<string>|null}} context `agenda`: the ids of
 *   the next meeting's agenda, needed only when `filters.agenda` is on
 * @returns {(view: object) => boolean}
 */
export function matcher(filters, { calendar = null, today, agenda = null }) {
  const f = { ...emptyFilters(), ...filters };
  const words = searchWords(f.q);
  return (view) => {
    if (f.status && (view.status || 'registered') !== f.status) return false;
    if (f.category && view.category !== f.category) return false;
    if (f.urgent && !view.urgent) return false;
    if (f.from && !(view.received_on >= f.from)) return false;
    if (f.to && !(view.received_on <= f.to)) return false;
    if (f.deadline && deadlineState(view, calendar, today) !== f.deadline) return false;
    if (f.agenda && !agenda?.has(view.id)) return false;
    if (words.length > 0) {
      const text = searchText(view);
      if (!words.every((word) => text.includes(word))) return false;
    }
    return true;
  };
}

/**
 * The letters that pass the filters, in the order given.
 * @param {object[]} views
 * @param {object} filters
 * @param {{calendar?: object|null, today: string, agenda?: Set<string>|null}} context
 * @returns {object[]}
 */
export function applyFilters(views, filters, context) {
  return views.filter(matcher(filters, context));
}
