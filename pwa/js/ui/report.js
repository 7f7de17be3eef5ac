/**
 * The monthly information on the box's work (#/report, #/report/YYYY-MM; regulation 003 §2.6): pick a month,
 * see the paper, print it in Kyrgyz or Russian. The server counts it from metadata and hides counts of one or
 * two; the tablet keeps none of it. The paper is put under <body> in `.print-area`, as print.js does.
 */
import { h, uid } from '../dom.js';
import { t, language, setLanguage } from '../i18n.js';
import { renderMonthlyReport } from '../print/documents.js';
import { clearPrintArea } from './print.js';
import { monthName, online, unavailableView } from './dashboard.js';
import { todayISO } from './format.js';

/** The report is due by the 5th: until then the month before is the one to prepare. */
const DUE_DAY = 5;
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const FIRST_MONTH = '2000-01';
/** This month and the 35 before it: three school years to choose from. */
const PICKER_MONTHS = 36;

/**
 * The month the screen opens on: the previous month up to the 5th, this month afterwards.
 * @param {string} today YYYY-MM-DD
 * @returns {string} YYYY-MM
 */
export function defaultMonth(today) {
  const [year, month, day] = today.split('-').map(Number);
  if (day > DUE_DAY) return today.slice(0, 7);
  return month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, '0')}`;
}

/**
 * The months the picker offers, newest first: this month and the three school years before it, and the
 * month shown when it is older (a link kept from before).
 * @param {string} today YYYY-MM-DD
 * @param {string} chosen YYYY-MM
 * @returns {string[]} YYYY-MM
 */
export function pickableMonths(today, chosen) {
  const [year, month] = today.split('-').map(Number);
  const months = [];
  for (let back = 0; back < PICKER_MONTHS; back += 1) {
    const index = year * 12 + (month - 1) - back;
    months.push(`${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`);
  }
  if (!months.includes(chosen)) months.push(chosen);
  return months.sort().reverse();
}

/** A select of months named from the catalog (the browser's own month input would word them in its locale). */
function monthPicker(app, chosen, today) {
  const id = uid('report-month');
  const select = h('select', { id, name: 'month', class: 'report-month-select' },
    pickableMonths(today, chosen).map((value) => h('option', { value, selected: value === chosen }, monthName(value))));
  select.addEventListener('change', () => {
    if (MONTH.test(select.value) && select.value !== chosen) app.navigate(`#/report/${select.value}`);
  });
  return h('div', { class: 'field report-month' },
    h('label', { for: id }, t('report.month_field')),
    select,
    h('p', { class: 'field-hint' }, t('report.month_hint')));
}

/**
 * @param {object} app
 * @param {{month?: string}} params
 * @returns {Promise<HTMLElement>}
 */
export async function render(app, { month } = {}) {
  clearPrintArea();
  const today = todayISO();
  const chosen = month && MONTH.test(month) && month >= FIRST_MONTH ? month : defaultMonth(today);
  let report;
  try {
    report = await online(() => app.api.monthlyReport(app.session?.token, chosen));
  } catch (error) {
    const view = unavailableView(t('report.title'), error, t('report.needs_network'), () => app.navigate(location.hash));
    view.querySelector('h1').after(monthPicker(app, chosen, today));
    return view;
  }
  const paper = renderMonthlyReport(report, app.session?.school ?? { name: '' });
  clearPrintArea(); // a render that started earlier may have put its paper there while this one waited
  document.body.append(h('div', { class: 'print-area' }, paper));
  document.body.classList.add('printing');
  const print = h('button', { type: 'button', class: 'button button-primary', 'data-autofocus': true }, t('print.print'));
  print.addEventListener('click', () => window.print());
  const languages = ['ky', 'ru'].map((lang) => {
    const button = h('button', { type: 'button', class: ['button', lang === language() ? 'button-primary' : 'button-secondary'], lang }, t(`print.in_${lang}`));
    // The app draws the current route again in the new language (and asks for the same month again).
    button.addEventListener('click', () => {
      if (lang !== language()) setLanguage(lang);
    });
    return button;
  });
  const presented = (await app.store.listRecords('report')).find((view) => view.month === chosen);
  let mark = null;
  if (presented) {
    mark = h('p', { class: 'form-message form-message-info report-presented' }, t('report.presented', { by: presented.recorded_by ?? '' }));
  } else if (app.session?.user?.role === 'pedagogue' && report.figures?.complete !== false) {
    mark = h('button', { type: 'button', class: 'button button-secondary report-mark' }, t('report.mark_presented'));
    mark.addEventListener('click', async () => {
      mark.disabled = true;
      await app.store.presentReport(chosen);
      app.afterSave();
      app.flash(t('report.marked'));
      app.navigate(location.hash);
    });
  }
  return h('section', { class: 'screen screen-wide report' },
    h('h1', null, t('report.title')),
    mark,
    h('div', { class: 'print-toolbar report-toolbar' },
      monthPicker(app, chosen, today),
      h('div', { class: 'button-row' }, print, ...languages)),
    h('div', { class: 'print-preview' }, paper.cloneNode(true)));
}
