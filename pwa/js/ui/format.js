/**
 * Small helpers that turn an appeal view into what the journal shows: its number, the applicant (from
 * `../applicant.js`, which the printed journal shares), dates.
 */
import { formatDate } from '../i18n.js';
import { DEFAULT_DUE_IN, WorkCalendar } from '../calendar.js';
import { addDays, localToday } from '../protocol.js';
import { dueOn } from '../rules.js';

/**
 * The number shown for a letter: the official serial number, or the provisional mark "~N" until the
 * server has assigned one.
 * @param {{serial_no: number|null, provisional_no: number|null}} view
 * @returns {string}
 */
export function letterMark(view) {
  if (view.serial_no !== null && view.serial_no !== undefined) return String(view.serial_no);
  if (view.provisional_no !== null && view.provisional_no !== undefined) return `~${view.provisional_no}`;
  return '~';
}

/** @returns {boolean} whether the letter still shows a provisional mark */
export function isProvisional(view) {
  return view.serial_no === null || view.serial_no === undefined;
}

export { applicantLabel } from '../applicant.js';

/** Today's date on this device as YYYY-MM-DD (the local calendar day, not UTC). */
export const todayISO = localToday;

export { addDays };

/**
 * The day the answer is due, counted on the school's calendar from the last pull, which is always the
 * newest: a due day the server computed earlier goes stale when the admin adds a day off, but a letter is
 * only pulled again when it changes. Before any pull: the server's due day, else Monday to Friday and five
 * days. None for a letter not accepted, which has no deadline.
 * @param {object} view an appeal view
 * @param {object|null} calendar the pulled calendar `{week, holidays, days_off, working_days, due_in_days}`
 * @returns {string|null} YYYY-MM-DD
 */
export function dueDate(view, calendar) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(view.received_on || '')) return null;
  if (!calendar && view.due_on !== undefined && view.due_on !== null) return view.due_on;
  return dueOn(view.status, view.received_on, WorkCalendar.fromJSON(calendar ?? {}), calendar?.due_in_days ?? DEFAULT_DUE_IN);
}

/**
 * Where a letter stands against its deadline: 'overdue', 'due_soon' (one working day or less left),
 * 'on_time', or null once answered, closed or not accepted.
 * @param {object} view
 * @param {object|null} calendar
 * @param {string} today YYYY-MM-DD
 */
export function deadlineState(view, calendar, today) {
  const due = dueDate(view, calendar);
  if (!due || ['answered', 'closed', 'not_accepted'].includes(view.status)) return null;
  return WorkCalendar.fromJSON(calendar ?? {}).status(due, today);
}

/**
 * The due date as a short text, e.g. "12 Mar 2025".
 * @param {object} view
 * @param {object|null} calendar
 */
export function dueDateText(view, calendar) {
  const due = dueDate(view, calendar);
  return due ? formatDate(due, 'short') : '';
}

/**
 * Calendar days from one date to another (YYYY-MM-DD), negative when `to` is earlier.
 * @param {string} from
 * @param {string} to
 */
export function daysBetween(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/**
 * A short date, e.g. "5 Mar 2025".
 * @param {string} isoDate
 */
export function shortDate(isoDate) {
  return formatDate(isoDate, 'short');
}
