/**
 * A conflict under "Needs attention" (the letter changed on the server after this tablet's mutation was
 * made): a correction shown field by field, the value it started from (base), the server's value now with
 * who set it, when and on which device, and mine, each field kept, taken from the server or merged by hand;
 * a step of the case work shown beside the steps recorded since, kept or dropped. What is sent is a new
 * mutation on the server's current version; the refused one leaves "Needs attention" (history.js computes).
 */
import { h } from '../dom.js';
import { t, term, formatDateTime } from '../i18n.js';
import { conflictFields, resolvedChanges, stepsSince } from '../history.js';
import { confirmDialog } from './dialogs.js';
import { describeError } from './errors.js';
import { formMessage, markBusy } from './fields.js';
import { historyEntry, pathLabel, valueText } from './history.js';
import { letterTitle } from './letter.js';

// Fields merged by typing; the others (choices, yes/no) are kept or taken.
const TYPED = new Set(['summary', 'text', 'receipt_code', 'received_on', 'applicant.full_name', 'applicant.age',
  'applicant.grade', 'applicant.address', 'applicant.phone']);

const back = () => h('p', { class: 'breadcrumb' }, h('a', { href: '#/attention' }, t('attention.back')));

/** A typed value as the wire holds it: empty is null, an age a number. */
function typedValue(path, text) {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  if (path === 'applicant.age') return /^\d{1,3}$/.test(trimmed) ? Number(trimmed) : trimmed;
  return trimmed;
}

function fieldRow(row, index) {
  const name = `choice-${index}`;
  const merged = TYPED.has(row.path)
    ? h('input', { type: 'text', name: `merge-${index}`, class: 'conflict-merge', autocomplete: 'off', spellcheck: 'false',
      value: row.mine === null || row.mine === undefined ? '' : String(row.mine), hidden: true })
    : null;
  const option = (value, label, checked = false) => h('label', { class: 'conflict-option' },
    h('input', { type: 'radio', name, value, checked }), ' ', label);
  const box = h('fieldset', { class: ['card', 'conflict-field', row.changedOnServer && 'is-changed'], 'data-field': row.path },
    h('legend', null, pathLabel(row.path)),
    h('dl', { class: 'conflict-values' },
      h('div', { class: 'conflict-base' }, h('dt', null, t('conflict.base')), h('dd', null, valueText(row.path, row.base))),
      h('div', { class: 'conflict-server' }, h('dt', null, t('conflict.server')),
        h('dd', null, valueText(row.path, row.server),
          row.by.map((by) => h('span', { class: 'muted conflict-by' }, ' · ', t('conflict.set_by', {
            who: by.by ?? '—', when: by.at ? formatDateTime(by.at) : '—', device: by.device?.name ?? '—',
          }))))),
      h('div', { class: 'conflict-mine' }, h('dt', null, t('conflict.mine')), h('dd', null, valueText(row.path, row.mine)))),
    h('div', { class: 'conflict-options', role: 'radiogroup' },
      option('mine', t('conflict.keep_mine'), true),
      option('server', t('conflict.take_server')),
      merged && option('merge', t('conflict.merge'))),
    merged);
  box.addEventListener('change', () => {
    if (merged) merged.hidden = box.querySelector(`input[name="${name}"]:checked`)?.value !== 'merge';
  });
  box.choice = () => {
    const take = box.querySelector(`input[name="${name}"]:checked`)?.value ?? 'mine';
    return take === 'merge' ? { take, value: typedValue(row.path, merged.value) } : { take };
  };
  return box;
}

/** A refused correction, field by field. */
function correctionConflict(app, item) {
  const { mutation, server, view } = item;
  const rows = conflictFields(server, mutation);
  const boxes = rows.map(fieldRow);
  const reason = h('textarea', { name: 'reason', rows: 3, spellcheck: 'false', value: mutation.data?.reason ?? '' });
  const message = formMessage();
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, t('conflict.send'));
  const form = h('form', { class: 'conflict-form', novalidate: true },
    message, boxes,
    h('fieldset', { class: 'card' }, h('legend', null, t('amend.section_reason')), reason),
    h('div', { class: 'button-row form-actions' }, submit));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hide();
    const choices = Object.fromEntries(rows.map((row, i) => [row.path, boxes[i].choice()]));
    const changes = resolvedChanges(rows, choices);
    if (Object.keys(changes).length > 0 && !reason.value.trim()) {
      message.show(t('amend.error_reason'));
      return;
    }
    const restore = markBusy(submit, t('form.saving'));
    try {
      if (Object.keys(changes).length === 0) {
        await app.store.withdrawFromAttention(mutation.id); // the server holds all of it already
        app.flash(t('conflict.nothing_left'));
      } else {
        await app.store.resendFromAttention(mutation.id, { changes, reason: reason.value.trim() });
        app.afterSave();
        app.flash(t('attention.resent'));
      }
      app.navigate(view ? `#/letter/${view.id}` : '#/attention');
    } catch (error) {
      restore();
      message.show(describeError(error));
    }
  });
  return [h('p', { class: 'lead' }, t('conflict.intro_correction')), form];
}

/** A refused step of the case work, beside the steps recorded since it was made. */
function stepConflict(app, item) {
  const { mutation, server, view } = item;
  const steps = stepsSince(server, mutation.base_version);
  const message = formMessage();
  const keep = h('button', { type: 'button', class: 'button button-primary conflict-keep' }, t('conflict.keep_step'));
  const drop = h('button', { type: 'button', class: 'button button-secondary conflict-drop' }, t('conflict.drop_step'));
  const done = (flash) => {
    app.flash(flash);
    app.navigate(view ? `#/letter/${view.id}` : '#/attention');
  };
  keep.addEventListener('click', async () => {
    message.hide();
    const restore = markBusy(keep, t('form.saving'));
    try {
      await app.store.resendFromAttention(mutation.id);
      app.afterSave();
      done(t('attention.resent'));
    } catch (error) {
      restore();
      message.show(describeError(error));
    }
  });
  drop.addEventListener('click', async () => {
    const ok = await confirmDialog({ title: t('conflict.drop_title'), body: t('conflict.drop_body'), confirm: t('conflict.drop_step'), danger: true });
    if (!ok) return;
    await app.store.withdrawFromAttention(mutation.id);
    done(t('conflict.dropped'));
  });
  const mine = { id: mutation.id, type: mutation.type, at: item.at, facts: null, data: mutation.data, pending: true };
  return [
    h('p', { class: 'lead' }, t('conflict.intro_step')),
    message,
    h('div', { class: 'conflict-steps' },
      h('div', { class: 'card conflict-since' }, h('h2', null, t('conflict.steps_since')),
        steps.length === 0 ? h('p', { class: 'muted' }, t('case.nothing_yet'))
          : h('ol', { class: 'history' }, steps.map((entry) => historyEntry({ ...entry, at: entry.recorded_at ?? entry.at })))),
      h('div', { class: 'card conflict-mine-step' }, h('h2', null, t('conflict.my_step')),
        h('ol', { class: 'history' }, historyEntry(mine)))),
    h('div', { class: 'button-row form-actions' }, drop, keep),
  ];
}

/**
 * @param {object} app
 * @param {{mutation: object, result: object, at: string, server: object|null, view: object|null}} item
 * @returns {HTMLElement}
 */
export function conflictScreen(app, item) {
  const { mutation, view } = item;
  const title = view ? letterTitle(view) : '';
  return h('section', { class: 'screen conflict-screen' },
    back(),
    h('h1', null, t('conflict.title', { type: term('mutation', mutation.type), title })),
    mutation.type === 'appeal.amended' ? correctionConflict(app, item) : stepConflict(app, item));
}
