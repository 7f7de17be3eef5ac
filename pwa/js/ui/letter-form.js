/**
 * The letter form with every journal field, used to register a letter, to correct one and to resend a
 * rejected one. What the user types is kept as a draft in memory on every keystroke (drafts.js), so
 * neither the lock screen nor a trip to another screen loses it.
 */
import { h, replaceChildren } from '../dom.js';
import { t } from '../i18n.js';
import { field, formMessage, markBusy, select, toggle } from './fields.js';
import { getDraft, saveDraft, dropDraft } from './drafts.js';
import { confirmDialog } from './dialogs.js';
import { describeError } from './errors.js';
import { holderMessage, receiptCodeHolder } from './receipt-check.js';
import { urgentPanel } from './urgent.js';
import { addDays, todayISO } from './format.js';
import {
  APPLICANT_ROLES, CATEGORIES, EARLIEST_RECEIVED_ON, LIMITS, valueProblems, valuesFromRegistration,
} from './letter-values.js';

/**
 * Build the form.
 * @param {object} app
 * @param {object} spec
 * @param {string} spec.draftKey where the draft is kept, e.g. 'new'
 * @param {object} spec.initial form values the form starts from (and compares with, to know it is dirty)
 * @param {boolean} [spec.withReason] a correction: asks for its reason
 * @param {string} [spec.initialReason]
 * @param {string} spec.submitLabel
 * @param {string|null} [spec.letterId] the letter corrected or resent: its own receipt code is no clash
 * @param {boolean} [spec.focusReceiptCode] start on the receipt code (a mistyped code to correct)
 * @param {(values: object, reason: string) => Promise<void>} spec.onSave throws to show an error
 * @param {() => void} spec.onDone after a save or a discard
 * @returns {HTMLElement}
 */
export function letterForm(app, {
  draftKey, initial, withReason = false, initialReason = '', submitLabel, letterId = null, focusReceiptCode = false, onSave, onDone,
}) {
  const draft = getDraft(draftKey);
  const start = draft ? draft.values : { ...initial, reason: initialReason };
  const baseline = stable({ ...initial, reason: initialReason });
  const today = todayISO();
  const controls = {};
  const fields = {};

  // Confidential fields: no autofill (it would keep children's names unencrypted in the browser
  // profile) and no spell checking service.
  const privateText = (name, extra = {}) => h('input', {
    name, type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: LIMITS[name], value: start[name] ?? '', ...extra,
  });

  controls.received_on = h('input', { name: 'received_on', type: 'date', required: true, min: EARLIEST_RECEIVED_ON,
    max: addDays(today, 1), value: start.received_on || today });
  controls.receipt_code = privateText('receipt_code', { maxlength: 6, autocapitalize: 'characters', inputmode: 'text',
    class: 'input-code' });
  controls.role = select({ name: 'role', required: true, value: start.role, placeholder: t('form.choose'),
    options: APPLICANT_ROLES.map((code) => [code, t(`role.${code}`)]) });
  controls.full_name = privateText('full_name', { autocapitalize: 'words' });
  controls.age = h('input', { name: 'age', type: 'text', inputmode: 'numeric', pattern: '[0-9]*', maxlength: 3,
    autocomplete: 'off', value: start.age ?? '', class: 'input-short' });
  controls.grade = privateText('grade', { class: 'input-short' });
  controls.address = privateText('address', { autocapitalize: 'sentences' });
  controls.phone = h('input', { name: 'phone', type: 'tel', inputmode: 'tel', autocomplete: 'off', maxlength: LIMITS.phone,
    value: start.phone ?? '' });
  controls.category = select({ name: 'category', required: true, value: start.category, placeholder: t('form.choose'),
    options: CATEGORIES.map((code) => [code, t(`category.${code}`)]) });
  controls.summary = h('textarea', { name: 'summary', rows: 3, required: true, maxlength: LIMITS.summary,
    spellcheck: 'false', autocapitalize: 'sentences', value: start.summary ?? '' });
  controls.text = h('textarea', { name: 'text', rows: 8, maxlength: LIMITS.text, spellcheck: 'false',
    autocapitalize: 'sentences', value: start.text ?? '' });
  if (withReason) {
    controls.reason = h('textarea', { name: 'reason', rows: 3, required: true, maxlength: LIMITS.reason,
      spellcheck: 'false', autocapitalize: 'sentences', value: start.reason ?? '' });
  }

  const anonymousToggle = toggle({ name: 'anonymous', label: t('form.anonymous'), checked: Boolean(start.anonymous),
    hint: t('form.anonymous_hint'), onChange: () => showIdentity() });
  const urgentToggle = toggle({ name: 'urgent', label: t('form.urgent'), checked: Boolean(start.urgent),
    hint: t('form.urgent_hint'), onChange: () => showUrgent() });
  controls.anonymous = anonymousToggle.control;
  controls.urgent = urgentToggle.control;

  fields.received_on = field({ label: t('field.received_on'), control: controls.received_on, required: true });
  fields.receipt_code = field({ label: t('field.receipt_code'), control: controls.receipt_code, hint: t('form.receipt_code_hint') });
  fields.role = field({ label: t('field.applicant_role'), control: controls.role, required: true });
  fields.full_name = field({ label: t('field.full_name'), control: controls.full_name, required: true, className: 'span-2' });
  fields.age = field({ label: t('field.age'), control: controls.age });
  fields.grade = field({ label: t('field.grade'), control: controls.grade, hint: t('form.grade_hint') });
  fields.address = field({ label: t('field.address'), control: controls.address, className: 'span-2' });
  fields.phone = field({ label: t('field.phone'), control: controls.phone });
  fields.category = field({ label: t('field.category'), control: controls.category, required: true });
  fields.summary = field({ label: t('field.summary'), control: controls.summary, required: true, hint: t('form.summary_hint') });
  fields.text = field({ label: t('field.text'), control: controls.text, hint: t('form.text_hint') });
  if (withReason) {
    fields.reason = field({ label: t('amend.reason'), control: controls.reason, required: true, hint: t('amend.reason_hint') });
  }

  const identity = h('div', { class: 'identity-fields form-grid' }, fields.full_name, fields.address, fields.phone);
  const urgentSlot = h('div', { class: 'urgent-slot', 'aria-live': 'polite' });
  const message = formMessage();
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, submitLabel);
  const discard = h('button', { type: 'button', class: 'button button-secondary' }, t('form.discard'));
  const draftNote = h('p', { class: 'form-message form-message-info', hidden: !draft?.dirty }, t('form.draft_restored'));

  function showIdentity() {
    identity.hidden = controls.anonymous.checked;
  }
  function showUrgent() {
    replaceChildren(urgentSlot, controls.urgent.checked ? urgentPanel(app.session?.school) : null);
  }
  showIdentity();
  showUrgent();

  /** @returns {object} the values as the controls hold them now */
  function read() {
    const values = { opening_id: initial.opening_id ?? null };
    for (const [name, control] of Object.entries(controls)) {
      values[name] = control.type === 'checkbox' ? control.checked : control.value;
    }
    if (!withReason) values.reason = initialReason;
    return values;
  }

  const form = h('form', { class: 'letter-form', novalidate: true },
    draftNote, message,
    h('fieldset', { class: 'card' },
      h('legend', null, t('form.section_receipt')),
      h('div', { class: 'form-grid' }, fields.received_on, fields.receipt_code)),
    h('fieldset', { class: 'card' },
      h('legend', null, t('form.section_applicant')),
      anonymousToggle,
      h('div', { class: 'form-grid form-grid-3' }, fields.role, fields.age, fields.grade),
      identity),
    h('fieldset', { class: 'card' },
      h('legend', null, t('form.section_letter')),
      h('div', { class: 'form-grid' }, fields.category),
      urgentToggle, urgentSlot,
      fields.summary, fields.text),
    withReason && h('fieldset', { class: 'card' }, h('legend', null, t('amend.section_reason')), fields.reason),
    h('div', { class: 'button-row form-actions' }, discard, submit));

  const keepDraft = () => {
    const values = read();
    saveDraft(draftKey, values, stable(values) !== baseline);
  };
  form.addEventListener('input', keepDraft);
  form.addEventListener('change', keepDraft);
  controls.receipt_code.addEventListener('input', () => {
    const upper = controls.receipt_code.value.toUpperCase();
    if (upper !== controls.receipt_code.value) controls.receipt_code.value = upper;
  });

  discard.addEventListener('click', async () => {
    const values = read();
    if (stable(values) !== baseline) {
      const ok = await confirmDialog({ title: t('form.discard_title'), body: t('form.discard_body'), confirm: t('form.discard'),
        danger: true });
      if (!ok) return;
    }
    dropDraft(draftKey);
    onDone();
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hide();
    const values = read();
    const problems = valueProblems(values, { today, requireReason: withReason, reason: values.reason });
    for (const [name, wrapper] of Object.entries(fields)) wrapper.setError(problems[name] ? t(problems[name]) : '');
    const firstProblem = Object.keys(fields).find((name) => problems[name]);
    if (firstProblem) {
      message.show(t('form.fix_errors'));
      fields[firstProblem].control.focus();
      fields[firstProblem].scrollIntoView({ block: 'center' });
      return;
    }
    const restore = markBusy(submit, t('form.saving'));
    // One slip, one letter: a code another letter holds is not saved (the server would refuse it).
    const holder = await receiptCodeHolder(app, values.receipt_code, letterId);
    if (holder) {
      restore();
      fields.receipt_code.setError(t('receipt.used_short'));
      message.show(holderMessage(holder));
      controls.receipt_code.focus();
      fields.receipt_code.scrollIntoView({ block: 'center' });
      return;
    }
    try {
      await onSave(values, values.reason);
      dropDraft(draftKey);
      onDone();
    } catch (error) {
      restore();
      message.show(error?.messageKey ? t(error.messageKey) : describeError(error));
      message.scrollIntoView({ block: 'center' });
    }
  });

  if (focusReceiptCode) focusWhenShown(controls.receipt_code);
  return form;
}

/** Focus a control once the screen holding it is on the page (the router draws a screen after building it). */
function focusWhenShown(control, frames = 30) {
  if (control.isConnected) control.focus();
  else if (frames > 0) requestAnimationFrame(() => focusWhenShown(control, frames - 1));
}

/** Flat values as text with sorted keys, to compare a form with where it started. */
function stable(values) {
  return JSON.stringify(values, Object.keys(values).sort());
}

/** A problem found before saving, worded by a catalog key. */
export class FormProblem extends Error {
  /** @param {string} messageKey */
  constructor(messageKey) {
    super(messageKey);
    this.name = 'FormProblem';
    this.messageKey = messageKey;
  }
}

/**
 * Values for a new, empty letter received today.
 * @returns {object}
 */
export function emptyValues() {
  return valuesFromRegistration({
    received_on: todayISO(),
    opening_id: null,
    applicant: { anonymous: false, role: '' },
    summary: '',
    text: null,
    category: '',
    urgent: false,
    receipt_code: null,
  });
}
