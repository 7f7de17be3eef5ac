/**
 * Openings of the box (regulation 003 §2.3-2.4, 000 "collected once a week"): the list with the cadence
 * alerts, the act's form, and an opening's page with its act, its letters and the director's
 * acknowledgement.
 */
import { h } from '../dom.js';
import { t, formatDate, formatDateTime, formatNumber } from '../i18n.js';
import { SEAL_STATES } from '../vocabulary.js';
import { eventForm, withOffset } from './event-form.js';
import { daysBetween, isProvisional, letterMark, todayISO } from './format.js';

const notFound = () => h('section', { class: 'screen' }, h('h1', null, t('opening.not_found')),
  h('a', { href: '#/openings', class: 'button button-secondary' }, t('opening.back')));

/** "Name, position" per line, as the act lists the working group. */
export function parseMembers(text) {
  return String(text ?? '').split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
    const cut = line.search(/[,—–]/);
    return cut < 0 ? { name: line, position: '' } : { name: line.slice(0, cut).trim(), position: line.slice(cut + 1).trim() };
  });
}

const membersText = (members) => (members ?? []).map((m) => `${m.name}, ${m.position}`).join('\n');

/** The alerts the regulations' cadences raise: no collection for a week, no act for a month. */
export function cadenceAlerts(openings, settings, today) {
  const last = openings.map((o) => o.opened_at.slice(0, 10)).sort().at(-1) ?? null;
  const since = last ? daysBetween(last, today) : Infinity;
  const alerts = [];
  if (since > (settings?.collection_every_days ?? 7)) alerts.push(t('cadence.no_collection', { days: settings?.collection_every_days ?? 7 }));
  if (since > (settings?.act_every_days ?? 31)) alerts.push(t('cadence.no_act'));
  return alerts;
}

export const list = {
  async render(app) {
    const openings = await app.store.listRecords('opening');
    const alerts = cadenceAlerts(openings, app.session?.school, todayISO());
    const canRecord = app.session?.user?.role === 'pedagogue';
    return h('section', { class: 'screen' },
      h('div', { class: 'screen-title-row' },
        h('h1', null, t('opening.list_title')),
        canRecord && h('a', { href: '#/openings/new', class: 'button button-primary' }, t('opening.record'))),
      alerts.map((text) => h('p', { class: 'form-message form-message-warning cadence-alert', role: 'status' }, text)),
      openings.length === 0 ? h('p', { class: 'muted' }, t('opening.none'))
        : h('ul', { class: 'record-list' }, openings.map((o) => h('li', null, h('a', { class: 'record-row', href: `#/opening/${o.id}` },
          h('strong', null, formatDateTime(o.opened_at)),
          h('span', null, t('opening.letters_count', { count: formatNumber(o.letters_count) })),
          h('span', { class: 'chip' }, t(`seal.${o.seal}`)),
          o.acknowledged_at ? h('span', { class: 'chip' }, t('opening.acknowledged'))
            : h('span', { class: 'chip chip-attention' }, t('opening.awaiting_director')),
          o.pending > 0 && h('span', { class: 'chip chip-pending' }, t('letter.not_sent')))))));
  },
};

export const create = {
  render(app) {
    const now = new Date();
    const pad = (n) => String(n).padStart(2, '0');
    const local = `${todayISO()}T${pad(now.getHours())}:${pad(now.getMinutes())}`;
    let saved = null;
    const form = eventForm(app, {
      draftKey: 'opening:new',
      fields: [
        { name: 'opened_at', label: t('opening.field_opened_at'), kind: 'datetime', required: true, value: local },
        { name: 'members', label: t('opening.field_members'), kind: 'textarea', required: true, hint: t('opening.members_hint'),
          value: membersText(app.session?.school?.working_group) },
        { name: 'letters_count', label: t('opening.field_letters_count'), kind: 'number', required: true },
        { name: 'seal', label: t('opening.field_seal'), kind: 'select', required: true, value: 'intact',
          options: SEAL_STATES.map((code) => [code, t(`seal.${code}`)]) },
        { name: 'remarks', label: t('opening.field_remarks'), kind: 'textarea', maxlength: 2000 },
      ],
      submitLabel: t('opening.save'),
      async onSave(values) {
        saved = await app.store.recordOpening({ ...values, opened_at: withOffset(values.opened_at), members: parseMembers(values.members) });
        app.afterSave();
        app.flash(t('opening.saved'));
      },
      onDone: () => app.navigate(saved ? `#/opening/${saved.id}` : '#/openings'),
    });
    return h('section', { class: 'screen' },
      h('p', { class: 'breadcrumb' }, h('a', { href: '#/openings' }, t('opening.back'))),
      h('h1', null, t('opening.new_title')),
      h('p', { class: 'lead' }, t('opening.intro')),
      form);
  },
};

export const page = {
  async render(app, { id }) {
    const opening = await app.store.getRecord(id);
    if (!opening || opening.entity !== 'opening') return notFound();
    const letters = (await app.store.listAppeals()).filter((view) => view.opening_id === id);
    const role = app.session?.user?.role;
    const acknowledge = h('button', { type: 'button', class: 'button button-primary' }, t('opening.acknowledge'));
    acknowledge.addEventListener('click', async () => {
      acknowledge.disabled = true;
      await app.store.acknowledgeOpening(id);
      app.afterSave();
      app.flash(t('opening.acknowledged_saved'));
      app.navigate(`#/opening/${id}`);
    });
    return h('section', { class: 'screen' },
      h('p', { class: 'breadcrumb' }, h('a', { href: '#/openings' }, t('opening.back'))),
      h('h1', null, t('opening.title', { date: formatDate(opening.opened_at.slice(0, 10)) })),
      h('div', { class: 'card' }, h('dl', { class: 'details' },
        h('div', { class: 'detail' }, h('dt', null, t('opening.field_opened_at')), h('dd', null, formatDateTime(opening.opened_at))),
        h('div', { class: 'detail' }, h('dt', null, t('opening.field_letters_count')), h('dd', null, formatNumber(opening.letters_count))),
        h('div', { class: 'detail' }, h('dt', null, t('opening.field_seal')), h('dd', null, t(`seal.${opening.seal}`))),
        h('div', { class: 'detail detail-wide' }, h('dt', null, t('opening.field_members')),
          h('dd', null, opening.members.map((m) => `${m.name} (${m.position})`).join('; '))),
        opening.remarks && h('div', { class: 'detail detail-wide' }, h('dt', null, t('opening.field_remarks')), h('dd', null, opening.remarks)),
        h('div', { class: 'detail' }, h('dt', null, t('opening.director')), h('dd', null, opening.acknowledged_at
          ? t('opening.acknowledged_by', { name: opening.acknowledged_by ?? '', time: formatDateTime(opening.acknowledged_at) })
          : t('opening.awaiting_director'))))),
      h('div', { class: 'form-actions' },
        h('a', { href: `#/print/act/${id}`, class: 'button button-secondary' }, t('opening.print_act')),
        role === 'pedagogue' && h('a', { href: `#/opening/${id}/letter`, class: 'button button-primary' }, t('opening.register_letter')),
        role === 'director' && !opening.acknowledged_at && acknowledge),
      h('div', { class: 'card' }, h('h2', null, t('opening.letters', { count: formatNumber(letters.length) })),
        letters.length === 0 ? h('p', { class: 'muted' }, t('opening.no_letters'))
          : h('ul', null, letters.map((view) => h('li', null, h('a', { href: `#/letter/${view.id}` },
            isProvisional(view) ? t('letter.title_provisional', { mark: letterMark(view) }) : t('letter.title', { number: letterMark(view) })))))));
  },
};
