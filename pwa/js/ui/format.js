/**
 * Small helpers that turn an appeal view into what the journal shows: its number, the applicant, dates.
 */
import { t, formatDate } from '../i18n.js';
import { addDays, localToday } from '../rules.js';

/** Answers are due this many working days after receipt (the regulation's default). */
export const ANSWER_WORKING_DAYS = 5;

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

/**
 * The applicant as the journal column shows it: the name, or «анонимдүү».
 * @param {object} view
 * @returns {string}
 */
export function applicantLabel(view) {
  if (view.anonymous) return t('letter.anonymous_mark');
  const name = view.contents?.applicant?.full_name;
  return name && name.trim() ? name : t('letter.no_name');
}

/** Today's date on this device as YYYY-MM-DD (the local calendar day, not UTC). */
export const todayISO = localToday;

export { addDays };

/**
 * A simple estimate of the answer's due date: `received_on` plus five working days, counting Monday to
 * Friday only. The school's own calendar (holidays, six-day weeks) replaces this in a later issue.
 * @param {string} receivedOn YYYY-MM-DD
 * @param {number} [workingDays]
 * @returns {string} YYYY-MM-DD, or '' for a missing date
 */
export function estimatedDueDate(receivedOn, workingDays = ANSWER_WORKING_DAYS) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(receivedOn || '')) return '';
  let day = receivedOn;
  let left = workingDays;
  while (left > 0) {
    day = addDays(day, 1);
    const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
    if (weekday !== 0 && weekday !== 6) left -= 1;
  }
  return day;
}

/**
 * The due date as a short text, e.g. "12 Mar 2025".
 * @param {string} receivedOn
 */
export function dueDateText(receivedOn) {
  const due = estimatedDueDate(receivedOn);
  return due ? formatDate(due, 'short') : '';
}

/**
 * A short date, e.g. "5 Mar 2025".
 * @param {string} isoDate
 */
export function shortDate(isoDate) {
  return formatDate(isoDate, 'short');
}
