/**
 * Commission meetings (regulation 000: the three-person commission meets on Fridays): the list, the
 * meeting's form with its agenda — every letter registered since the last meeting and every open case —
 * where each letter gets a decision and its competent official, and a meeting's page with the minutes.
 */
import { h } from '../dom.js';
import { t, formatDate, formatNumber } from '../i18n.js';
import { addDays } from '../protocol.js';
import { EVENT_TYPES } from '../vocabulary.js';
import { field, formMessage, markBusy } from './fields.js';
import { describeError } from './errors.js';
import { dropDraft, getDraft, saveDraft } from './drafts.js';
import { isProvisional, letterMark, todayISO } from './format.js';

const OPEN = new Set(['registered', 'in_progress', 'answered']);
const DRAFT = 'meeting:new';

/** The commission's day on or before `today` (Monday is 0, as the school's setting counts). */
export function lastCommissionDay(today, weekday = 4) {
  const day = (new Date(`${today}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday 0
  return addDays(today, -((day - weekday + 7) % 7));
}

/**
 * The agenda of a meeting held on `heldOn`: the letters received since the meeting before it, and every
 * case still open; never a letter received after the meeting (it waits for the next one). Oldest first.
 */
export function agendaOf(appeals, meetings, heldOn) {
  const previous = meetings.map((m) => m.held_on).filter((d) => d < heldOn).sort().at(-1) ?? '';
  return appeals
    .filter((view) => view.received_on <= heldOn && !['not_accepted', 'closed'].includes(view.status)
      && (view.received_on > previous || OPEN.has(view.status)))
    .sort((a, b) => a.received_on.localeCompare(b.received_on) || (a.serial_no ?? Infinity) - (b.serial_no ?? Infinity));
}

const mark = (view) => (isProvisional(view) ? letterMark(view) : `№ ${letterMark(view)}`);

export const list = {
  async render(app) {
    const meetings = await app.store.listRecords('meeting');
    const role = app.session?.user?.role;
    return h('section', { class: 'screen' },
      h('div', { class: 'screen-title-row' },
        h('h1', null, t('meeting.list_title')),
        (role === 'pedagogue' || role === 'commission') && h('a', { href: '#/meetings/new', class: 'button button-primary' }, t('meeting.record'))),
      meetings.length === 0 ? h('p', { class: 'muted' }, t('meeting.none'))
        : h('ul', { class: 'record-list' }, meetings.map((m) => h('li', null, h('a', { class: 'record-row', href: `#/meeting/${m.id}` },
          h('strong', null, formatDate(m.held_on)),
          h('span', null, t('meeting.present_count', { count: formatNumber(m.members_present.length) })),
          m.pending > 0 && h('span', { class: 'chip chip-pending' }, t('letter.not_sent')))))));
  },
};

function memberRow(member, index) {
  const name = h('input', { type: 'text', name: `member_name_${index}`, value: member.name ?? '', autocomplete: 'off', 'aria-label': t('meeting.member_name') });
  const position = h('input', { type: 'text', name: `member_position_${index}`, value: member.position ?? '', autocomplete: 'off', 'aria-label': t('meeting.member_position') });
  const present = h('input', { type: 'checkbox', name: `member_present_${index}`, checked: true });
  const confirmed = h('input', { type: 'checkbox', name: `member_confirmed_${index}` });
  const element = h('div', { class: 'member-row' }, name, position,
    h('label', { class: 'check' }, present, ' ', t('meeting.present')),
    h('label', { class: 'check' }, confirmed, ' ', t('meeting.confirms')));
  return { element, read: () => ({ name: name.value.trim(), position: position.value.trim(), present: present.checked, confirmed: confirmed.checked }) };
}

function agendaRow(view) {
  const decision = h('textarea', { name: `decision_${view.id}`, rows: 2, spellcheck: 'false', maxlength: 4000 });
  const official = h('input', { type: 'text', name: `official_${view.id}`, autocomplete: 'off', maxlength: 200 });
  const position = h('input', { type: 'text', name: `official_position_${view.id}`, autocomplete: 'off', maxlength: 200 });
  const measures = h('textarea', { name: `measures_${view.id}`, rows: 2, spellcheck: 'false', maxlength: 4000 });
  const wrappers = {
    decision: field({ label: t('meeting.decision'), control: decision }),
    official: field({ label: t('case.field_official_name'), control: official }),
    position: field({ label: t('case.field_official_position'), control: position }),
    measures: field({ label: t('case.field_measures_planned'), control: measures }),
  };
  const element = h('li', { class: 'agenda-item', 'data-appeal': view.id },
    h('p', null, h('strong', null, mark(view)), ' · ', formatDate(view.received_on), ' · ', view.contents?.summary ?? ''),
    Object.values(wrappers));
  const read = () => ({ decision: decision.value.trim(), official: { name: official.value.trim(), position: position.value.trim() },
    measures_planned: measures.value.trim() || null });
  return { view, element, wrappers, read };
}

export const create = {
  async render(app) {
    const school = app.session?.school ?? {};
    const meetings = await app.store.listRecords('meeting');
    const appeals = await app.store.listAppeals();
    const heldOn = h('input', { type: 'date', name: 'held_on', required: true, value: lastCommissionDay(todayISO(), school.commission_day ?? 4) });
    const known = school.commission_members?.length ? school.commission_members : [{}, {}, {}];
    const members = known.map(memberRow);
    // One row per letter, kept while the date changes, so a decision typed is not lost by a new date.
    const rows = new Map(appeals.map((view) => [view.id, agendaRow(view)]));
    let agenda = [];
    const agendaList = h('ol', { class: 'agenda' });
    const agendaEmpty = h('p', { class: 'muted' }, t('meeting.agenda_empty'));
    const showAgenda = () => {
      agenda = /^\d{4}-\d{2}-\d{2}$/.test(heldOn.value) ? agendaOf(appeals, meetings, heldOn.value).map((view) => rows.get(view.id)) : [];
      agendaList.replaceChildren(...agenda.map((item) => item.element));
      agendaList.hidden = agenda.length === 0;
      agendaEmpty.hidden = agenda.length > 0;
    };
    // What was typed is kept as a draft, so the lock screen or a sync's refresh drops nothing.
    const controlled = () => [heldOn, ...members.map((m) => m.element), ...[...rows.values()].map((r) => r.element)]
      .flatMap((el) => (el.name ? [el] : [...el.querySelectorAll('[name]')]));
    const draft = getDraft(DRAFT)?.values ?? {};
    for (const control of controlled()) {
      if (!(control.name in draft)) continue;
      if (control.type === 'checkbox') control.checked = draft[control.name];
      else control.value = draft[control.name];
    }
    const keep = () => saveDraft(DRAFT, Object.fromEntries(controlled().map((c) => [c.name, c.type === 'checkbox' ? c.checked : c.value])));
    heldOn.addEventListener('change', showAgenda);
    showAgenda();
    const message = formMessage();
    const submit = h('button', { type: 'submit', class: 'button button-primary' }, t('meeting.save'));
    const form = h('form', { class: 'meeting-form', novalidate: true },
      field({ label: t('meeting.field_held_on'), control: heldOn, required: true }),
      h('fieldset', null, h('legend', null, t('meeting.members', { quorum: formatNumber(school.quorum ?? 3) })), members.map((m) => m.element)),
      h('h2', null, t('meeting.agenda')),
      agendaEmpty, agendaList,
      message, h('div', { class: 'form-actions' }, submit));

    let meeting = null;
    const decided = new Set();
    form.addEventListener('input', keep);
    form.addEventListener('change', keep);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      message.hide();
      const decisions = agenda.map((item) => ({ item, data: item.read() })).filter(({ data }) => data.decision);
      let incomplete = false;
      for (const { item, data } of decisions) {
        item.wrappers.official.setError(data.official.name ? null : t('form.error_required'));
        item.wrappers.position.setError(data.official.position ? null : t('form.error_required'));
        incomplete ||= !data.official.name || !data.official.position;
      }
      if (incomplete) {
        message.show(t('form.fix_errors'));
        return;
      }
      const present = members.map((m) => m.read()).filter((m) => m.present && m.name)
        .map(({ name, position, confirmed }) => ({ name, position: position || '—', confirmed }));
      const restore = markBusy(submit, t('form.saving'));
      try {
        // A retry after one decision was refused records neither the meeting nor a decision twice.
        meeting ??= await app.store.recordMeeting({ held_on: heldOn.value, members_present: present });
        for (const { item, data } of decisions) {
          if (decided.has(item.view.id)) continue;
          await app.store.recordCaseWork(item.view.id, EVENT_TYPES.DECIDED, { meeting_id: meeting.id, ...data });
          decided.add(item.view.id);
        }
        dropDraft(DRAFT);
        app.afterSave();
        app.flash(t('meeting.saved', { count: formatNumber(decisions.length) }));
        app.navigate(`#/meeting/${meeting.id}`);
      } catch (error) {
        restore();
        message.show(describeError(error));
      }
    });
    return h('section', { class: 'screen' },
      h('p', { class: 'breadcrumb' }, h('a', { href: '#/meetings' }, t('meeting.back'))),
      h('h1', null, t('meeting.new_title')),
      h('p', { class: 'lead' }, t('meeting.intro')),
      form);
  },
};

/** The decisions a meeting took, from the letters' case work, as the minutes list them. */
export function decisionsOf(meetingId, appeals) {
  const rows = [];
  for (const view of appeals) {
    for (const decision of view.contents?.case?.decisions ?? []) {
      if (decision.meeting_id === meetingId) {
        rows.push({ mark: mark(view), received_on: view.received_on, summary: view.contents?.summary ?? '', ...decision,
          order: view.serial_no ?? view.provisional_no ?? 0 });
      }
    }
  }
  // As the journal runs: by date received, then by number (official, or the provisional mark before a sync).
  return rows.sort((a, b) => a.received_on.localeCompare(b.received_on) || a.order - b.order);
}

export const page = {
  async render(app, { id }) {
    const meeting = await app.store.getRecord(id);
    if (!meeting || meeting.entity !== 'meeting') {
      return h('section', { class: 'screen' }, h('h1', null, t('meeting.not_found')),
        h('a', { href: '#/meetings', class: 'button button-secondary' }, t('meeting.back')));
    }
    const decisions = decisionsOf(id, await app.store.listAppeals());
    return h('section', { class: 'screen' },
      h('p', { class: 'breadcrumb' }, h('a', { href: '#/meetings' }, t('meeting.back'))),
      h('h1', null, t('meeting.title', { date: formatDate(meeting.held_on) })),
      h('div', { class: 'card' },
        h('h2', null, t('meeting.present_title')),
        h('ul', null, meeting.members_present.map((m) => h('li', null, `${m.name} (${m.position})`)))),
      h('div', { class: 'card' },
        h('h2', null, t('meeting.decisions', { count: formatNumber(decisions.length) })),
        h('ul', null, decisions.map((d) => h('li', null, h('strong', null, d.mark), ' — ', d.decision, ' · ', d.official.name)))),
      h('div', { class: 'form-actions' }, h('a', { href: `#/print/minutes/${id}`, class: 'button button-secondary' }, t('meeting.print_minutes'))));
  },
};
