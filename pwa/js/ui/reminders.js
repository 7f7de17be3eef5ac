/**
 * The monthly information is due by the 5th (regulation 003 §2.6): from the 1st the pedagogue is reminded
 * of last month's until it is marked presented, and after the 5th the reminder turns into an alert.
 */
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { monthName } from './dashboard.js';

export const DUE_DAY = 5;

/** The month whose information is due now: the one before `today`'s. */
export function dueMonth(today) {
  const [year, month] = today.split('-').map(Number);
  return month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, '0')}`;
}

/**
 * Where the report stands: null once presented, 'reminder' up to the 5th, 'alert' after it.
 * @param {string} today YYYY-MM-DD
 * @param {string[]} presented months marked presented (YYYY-MM)
 */
export function reportState(today, presented) {
  if (presented.includes(dueMonth(today))) return null;
  return Number(today.slice(8, 10)) <= DUE_DAY ? 'reminder' : 'alert';
}

/**
 * The banner for the pedagogue's journal, or null.
 * @param {object} app
 * @param {string} today
 * @returns {Promise<HTMLElement|null>}
 */
export async function reportReminder(app, today) {
  if (app.session?.user?.role !== 'pedagogue') return null;
  const presented = (await app.store.listRecords('report')).map((view) => view.month);
  const state = reportState(today, presented);
  if (!state) return null;
  const month = dueMonth(today);
  return h('p', { class: ['form-message', state === 'alert' ? 'form-message-error' : 'form-message-info', 'report-reminder'], role: 'status' },
    t(`report.${state}`, { month: monthName(month) }), ' ',
    h('a', { href: `#/report/${month}` }, t('report.open')));
}
