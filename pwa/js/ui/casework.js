/**
 * A letter's case work on its page: what was decided, referred, answered and done (regulation 000's
 * "measures taken", 003's "competent official"), and the actions that record the next step. Each action
 * is an `appeal.*` event saved on the tablet through the same rules the server applies. A reader the server
 * sends no contents to sees the steps from the history's facts (dates, kinds, authorities), the same steps
 * the history lists, never "nothing yet" beside them.
 */
import { h } from '../dom.js';
import { t, term, formatDate, formatDateTime } from '../i18n.js';
import { authorLine, pathLabel, valueText } from './history.js';
import { ANSWER_KINDS, AUTHORITIES, EVENT_TYPES, MEASURE_KINDS } from '../vocabulary.js';
import { eventForm } from './event-form.js';
import { getDraft } from './drafts.js';
import { todayISO } from './format.js';

const options = (group, codes) => codes.map((code) => [code, t(`${group}.${code}`)]);
const date = (name, label) => ({ name, label, kind: 'date', required: true, value: todayISO() });

/** The actions a letter in this state offers, each with its event type and form fields. */
function actions(app, view) {
  const work = view.contents?.case;
  if (!work || view.status === 'not_accepted') return [];
  const closed = view.status === 'closed';
  const list = [];
  const openReferrals = work.referrals.map((r, i) => [r, i + 1]).filter(([r]) => !r.feedback);
  const stand = work.answers.map((a, i) => [a, i + 1]).filter(([a]) => a.way === 'stand');
  const posted = stand.filter(([a]) => a.posted_on && !a.removed_on);
  const unposted = stand.filter(([a]) => !a.posted_on);
  const answerLabel = ([a, n]) => [String(n), `${n}. ${formatDate(a.answered_on)} · ${t(`answer_kind.${a.kind}`)}`];

  if (view.status === 'registered') {
    list.push({ type: EVENT_TYPES.NOT_ACCEPTED, fields: [date('decided_on', t('case.field_decided_on')),
      { name: 'reason', label: t('case.field_reason'), kind: 'textarea', required: true, hint: t('case.not_accepted_hint') }] });
  }
  if (!closed) {
    const way = view.anonymous ? 'stand' : 'in_person';
    list.push({ type: EVENT_TYPES.ANSWERED, fixed: { way }, intro: t(`case.answer_way_${way}`), fields: [
      date('answered_on', t('case.field_answered_on')),
      { name: 'kind', label: t('case.field_answer_kind'), kind: 'select', required: true, value: 'answer', options: options('answer_kind', ANSWER_KINDS) },
      { name: 'text', label: t('case.field_answer_text'), kind: 'textarea', hint: t('case.answer_text_hint') }] });
    list.push({ type: EVENT_TYPES.REFERRED, fields: [date('referred_on', t('case.field_referred_on')),
      { name: 'authority', label: t('case.field_authority'), kind: 'select', required: true, options: options('authority', AUTHORITIES) },
      { name: 'outgoing_no', label: t('case.field_outgoing_no'), kind: 'text', maxlength: 50 },
      { name: 'contact', label: t('case.field_contact'), kind: 'text' },
      { name: 'note', label: t('case.field_note'), kind: 'textarea', maxlength: 2000 }] });
    list.push({ type: EVENT_TYPES.MEASURE_RECORDED, fields: [date('taken_on', t('case.field_taken_on')),
      { name: 'kind', label: t('case.field_measure_kind'), kind: 'select', required: true, options: options('measure', MEASURE_KINDS) },
      { name: 'description', label: t('case.field_description'), kind: 'textarea', required: true },
      { name: 'taken_by', label: t('case.field_taken_by'), kind: 'text', required: true, value: app.session?.user?.full_name ?? '' }] });
  }
  if (openReferrals.length > 0) {
    list.push({ type: EVENT_TYPES.FEEDBACK_RECEIVED, fields: [
      { name: 'referral_no', label: t('case.field_referral'), kind: 'select', required: true, value: String(openReferrals[0][1]),
        options: openReferrals.map(([r, n]) => [String(n), `${n}. ${t(`authority.${r.authority}`)} · ${formatDate(r.referred_on)}`]) },
      date('received_on', t('case.field_feedback_on')),
      { name: 'text', label: t('case.field_feedback_text'), kind: 'textarea', required: true }], numbers: ['referral_no'] });
  }
  if (unposted.length > 0) {
    list.push({ type: EVENT_TYPES.NOTICE_POSTED, fields: [
      { name: 'answer_no', label: t('case.field_answer'), kind: 'select', required: true, value: String(unposted[0][1]), options: unposted.map(answerLabel) },
      date('posted_on', t('case.field_posted_on'))], numbers: ['answer_no'] });
  }
  if (posted.length > 0) {
    list.push({ type: EVENT_TYPES.NOTICE_REMOVED, fields: [
      { name: 'answer_no', label: t('case.field_answer'), kind: 'select', required: true, value: String(posted[0][1]), options: posted.map(answerLabel) },
      date('removed_on', t('case.field_removed_on'))], numbers: ['answer_no'] });
  }
  if (view.status === 'answered') {
    list.push({ type: EVENT_TYPES.CLOSED, fields: [date('closed_on', t('case.field_closed_on')),
      { name: 'outcome', label: t('case.field_outcome'), kind: 'textarea', maxlength: 2000 }] });
  }
  return list;
}

function actionPanel(app, view, action) {
  const form = eventForm(app, {
    draftKey: `case:${view.id}:${action.type}`, // the same key opens the panel again below
    fields: action.fields,
    submitLabel: t('case.save'),
    async onSave(values) {
      const data = { ...values, ...(action.fixed ?? {}) };
      for (const name of action.numbers ?? []) data[name] = Number(data[name]);
      await app.store.recordCaseWork(view.id, action.type, data);
      app.afterSave();
      app.flash(t('case.saved'));
    },
    onDone: () => app.navigate(`#/letter/${view.id}`),
  });
  const name = action.type.split('.')[1];
  // Open again after a refresh (a sync, the lock) when something was typed: the draft is in the form.
  return h('details', { class: 'case-action', 'data-action': name, open: Boolean(getDraft(`case:${view.id}:${action.type}`)) },
    h('summary', { class: 'button button-secondary' }, t(`case.action_${name}`)),
    action.intro && h('p', { class: 'muted' }, action.intro),
    form);
}

function item(...parts) {
  return h('li', { class: 'case-item' }, parts.filter(Boolean));
}

const line = (label, value) => value && h('p', null, h('span', { class: 'muted' }, label, ': '), value);

const REGISTRY_EVENTS = new Set([EVENT_TYPES.REGISTERED, EVENT_TYPES.AMENDED]);

/** The steps of the case work in the letter's history (pulled and pending), oldest first. */
function caseSteps(view) {
  return (view.history ?? []).filter((entry) => !REGISTRY_EVENTS.has(entry.type));
}

/**
 * The kinds of the measures taken on a letter: from its case work, or, for a reader without its contents,
 * from the history's facts.
 * @param {object} view
 * @returns {string[]}
 */
export function measuresOf(view) {
  if (!view.contents_hidden) return (view.contents?.case?.measures ?? []).map((m) => m.kind);
  return caseSteps(view).filter((entry) => entry.type === EVENT_TYPES.MEASURE_RECORDED && entry.facts?.kind)
    .map((entry) => entry.facts.kind);
}

/** The case work as the history's facts tell it, for a reader the letter's words are hidden from. */
function factsSummary(view) {
  const steps = caseSteps(view);
  return h('div', { class: 'case-facts' },
    h('p', { class: 'muted' }, t('case.words_hidden')),
    steps.length === 0 ? h('p', { class: 'muted' }, t('case.nothing_yet'))
      : h('ul', { class: 'plain-list' }, steps.map((entry) => item(
        h('p', null, h('strong', null, term('event', entry.type)), entry.at ? ` · ${formatDateTime(entry.at)}` : ''),
        authorLine(entry) && h('p', { class: 'muted' }, authorLine(entry)),
        ...Object.entries(entry.facts ?? {}).filter(([, v]) => v !== null && v !== undefined && v !== '')
          .map(([name, value]) => line(pathLabel(name), valueText(name, value, entry.type)))))));
}

/** What has been done on the case so far, in the journal's words. */
function summary(view) {
  if (view.contents_hidden) return factsSummary(view);
  const work = view.contents?.case;
  if (!work) return h('p', { class: 'muted' }, t('case.contents_hidden'));
  const blocks = [];
  if (work.not_accepted) {
    blocks.push(h('div', { class: 'case-block case-not-accepted' }, h('h3', null, t('case.not_accepted_title')),
      line(t('case.field_decided_on'), formatDate(work.not_accepted.decided_on)), line(t('case.field_reason'), work.not_accepted.reason)));
  }
  if (work.decisions.length > 0) {
    blocks.push(h('div', { class: 'case-block' }, h('h3', null, t('case.decisions')), h('ul', null, work.decisions.map((d) => item(
      h('p', null, d.decision),
      line(t('case.field_official'), `${d.official.name}, ${d.official.position}`),
      line(t('case.field_measures_planned'), d.measures_planned))))));
  }
  if (work.referrals.length > 0) {
    blocks.push(h('div', { class: 'case-block' }, h('h3', null, t('case.referrals')), h('ul', null, work.referrals.map((r) => item(
      h('p', null, h('strong', null, t(`authority.${r.authority}`)), ' · ', formatDate(r.referred_on)),
      line(t('case.field_outgoing_no'), r.outgoing_no), line(t('case.field_contact'), r.contact), line(t('case.field_note'), r.note),
      r.feedback ? line(t('case.feedback'), `${formatDate(r.feedback.received_on)}: ${r.feedback.text}`)
        : h('p', { class: 'muted' }, t('case.feedback_awaited')))))));
  }
  if (work.answers.length > 0) {
    blocks.push(h('div', { class: 'case-block' }, h('h3', null, t('case.answers')), h('ul', null, work.answers.map((a, i) => item(
      h('p', null, h('strong', null, formatDate(a.answered_on)), ' · ', t(`answer_way.${a.way}`), ' · ', t(`answer_kind.${a.kind}`)),
      a.text && h('p', null, a.text),
      a.way === 'stand' && h('p', { class: 'muted' },
        a.posted_on ? t('case.posted_on', { date: formatDate(a.posted_on) }) : t('case.not_posted'),
        a.removed_on ? ` · ${t('case.removed_on', { date: formatDate(a.removed_on) })}` : ''),
      a.way === 'stand' && h('a', { class: 'button button-secondary', href: `#/print/notice/${view.id}/${i + 1}` }, t('case.print_notice')))))));
  }
  if (work.measures.length > 0) {
    blocks.push(h('div', { class: 'case-block' }, h('h3', null, t('case.measures')), h('ul', null, work.measures.map((m) => item(
      h('p', null, h('strong', null, formatDate(m.taken_on)), ' · ', t(`measure.${m.kind}`), ' · ', m.taken_by),
      h('p', null, m.description))))));
  }
  if (work.closed) {
    blocks.push(h('div', { class: 'case-block' }, h('h3', null, t('case.closed_title')),
      line(t('case.field_closed_on'), formatDate(work.closed.closed_on)), line(t('case.field_outcome'), work.closed.outcome)));
  }
  return blocks.length > 0 ? h('div', null, blocks) : h('p', { class: 'muted' }, t('case.nothing_yet'));
}

/**
 * The case-work card of a letter's page.
 * @param {object} app
 * @param {object} view the appeal's view
 * @returns {HTMLElement}
 */
export function caseWorkCard(app, view) {
  const role = app.session?.user?.role;
  const canWork = role === 'pedagogue' || role === 'commission';
  const offered = canWork ? actions(app, view).filter((a) => role === 'pedagogue' || a.type !== EVENT_TYPES.NOT_ACCEPTED) : [];
  return h('div', { class: 'card case-work' },
    h('h2', null, t('case.title')),
    summary(view),
    offered.length > 0 && h('div', { class: 'case-actions' }, offered.map((action) => actionPanel(app, view, action))));
}
