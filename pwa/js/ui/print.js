/**
 * The papers the regulations ask for, from what the tablet holds (offline too): the act of an opening,
 * the minutes of a meeting, a stand notice, a sheet of receipt slips, the journal. The screen shows a
 * preview and a Print button; the document itself is put beside the app, directly under <body>, where
 * print.css prints it alone.
 */
import { h } from '../dom.js';
import { t, language, setLanguage } from '../i18n.js';
import { renderAct, renderJournal, renderMinutes, renderSlips, renderStandNotice, SLIPS_PER_SHEET } from '../print/documents.js';
import { generateReceiptCodes } from '../print/codes.js';
import { schoolYear } from '../protocol.js';
import { decisionsOf } from './meetings.js';
import { todayISO } from './format.js';

const PRINT_AREA = 'print-area';

/** Take the printed document away (when the app leaves the print screen). */
export function clearPrintArea() {
  document.body.classList.remove('printing');
  document.querySelector(`body > .${PRINT_AREA}`)?.remove();
}

function journalRows(appeals, year) {
  return appeals
    .filter((view) => view.school_year === year && view.serial_no)
    .sort((a, b) => a.serial_no - b.serial_no)
    .map((view) => {
      const work = view.contents?.case;
      const applicant = view.contents?.applicant ?? {};
      return {
        serial_no: view.serial_no,
        received_on: view.received_on,
        anonymous: view.anonymous,
        full_name: applicant.full_name ?? null,
        age: applicant.age ?? null,
        address: applicant.address ?? null,
        phone: applicant.phone ?? null,
        // An erased case keeps its line and number in the journal; its words are gone (retention).
        summary: view.erased ? t('letter.erased_title') : view.contents?.summary ?? '',
        erased: Boolean(view.erased),
        official: work?.decisions.at(-1)?.official ?? null,
        answered_on: view.answered_on ?? null,
        measures: (work?.measures ?? []).map((m) => m.description),
        not_accepted: view.status === 'not_accepted',
      };
    });
}

/** The document a route names, or null when the tablet does not hold what it needs. */
async function documentFor(app, doc, id, n) {
  const school = app.session?.school ?? { name: '' };
  if (doc === 'act') {
    const opening = await app.store.getRecord(id);
    return opening?.entity === 'opening' ? renderAct(opening, school) : null;
  }
  if (doc === 'minutes') {
    const meeting = await app.store.getRecord(id);
    if (meeting?.entity !== 'meeting') return null;
    const agenda = decisionsOf(id, await app.store.listAppeals());
    return renderMinutes({ ...meeting, quorum: school.quorum ?? 3, agenda }, school);
  }
  if (doc === 'notice') {
    const view = await app.store.getAppeal(id);
    const answer = view?.contents?.case?.answers[Number(n) - 1];
    if (!answer || answer.way !== 'stand') return null;
    const code = view.contents.receipt_code;
    return renderStandNotice({ mark_kind: code ? 'receipt_code' : 'serial', receipt_code: code, serial_no: view.serial_no,
      answered_on: answer.answered_on, kind: answer.kind, text: answer.text }, school);
  }
  if (doc === 'slips') return renderSlips(generateReceiptCodes(SLIPS_PER_SHEET), school);
  if (doc === 'journal') {
    const year = schoolYear(todayISO());
    const chain = await app.store.getMeta('chain');
    const rows = journalRows(await app.store.listAppeals(), year);
    return renderJournal({ school_year: year, chain_head: chain?.head ?? '', rows }, school);
  }
  return null;
}

export async function render(app, { id, doc, n }) {
  clearPrintArea();
  const paper = await documentFor(app, doc, id, n);
  if (!paper) {
    return h('section', { class: 'screen' }, h('h1', null, t('print.nothing')),
      h('a', { href: '#/journal', class: 'button button-secondary' }, t('common.back_to_journal')));
  }
  const area = h('div', { class: PRINT_AREA }, paper);
  document.body.append(area);
  document.body.classList.add('printing');
  const print = h('button', { type: 'button', class: 'button button-primary', 'data-autofocus': true }, t('print.print'));
  print.addEventListener('click', () => window.print());
  const languages = ['ky', 'ru'].map((lang) => {
    const button = h('button', { type: 'button', class: ['button', lang === language() ? 'button-primary' : 'button-secondary'], lang }, t(`print.in_${lang}`));
    button.addEventListener('click', async () => {
      await setLanguage(lang);
      app.navigate(location.hash);
    });
    return button;
  });
  return h('section', { class: 'screen screen-wide' },
    h('div', { class: 'print-toolbar form-actions' }, print, ...languages),
    h('div', { class: 'print-preview' }, paper.cloneNode(true)));
}
