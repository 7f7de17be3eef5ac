/**
 * A small form for one journal event (an opening, an answer, a referral…): labelled controls from a list
 * of field specs, the typed values kept as a draft on every keystroke (so the lock screen loses nothing),
 * and the store's refusals shown where they belong.
 */
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { field, formMessage, markBusy, select } from './fields.js';
import { dropDraft, getDraft, saveDraft } from './drafts.js';
import { describeError } from './errors.js';

/**
 * @typedef {object} FieldSpec
 * @property {string} name the event data's key
 * @property {string} label
 * @property {'date'|'datetime'|'text'|'textarea'|'select'|'number'} kind
 * @property {Array<[string, string]>} [options] for a select: [code, label]
 * @property {boolean} [required]
 * @property {string|number|null} [value] the starting value
 * @property {string} [hint]
 * @property {number} [maxlength]
 */

function control(spec, value) {
  const common = { name: spec.name, required: Boolean(spec.required), autocomplete: 'off' };
  switch (spec.kind) {
    case 'date': return h('input', { ...common, type: 'date', value: value ?? '' });
    case 'datetime': return h('input', { ...common, type: 'datetime-local', value: value ?? '' });
    case 'number': return h('input', { ...common, type: 'text', inputmode: 'numeric', pattern: '[0-9]*', class: 'input-short', value: value ?? '' });
    case 'textarea': return h('textarea', { ...common, rows: 4, spellcheck: 'false', maxlength: spec.maxlength ?? 4000 }, value ?? '');
    case 'select': return select({ name: spec.name, required: spec.required, value: value ?? '', placeholder: t('form.choose'), options: spec.options });
    default: return h('input', { ...common, type: 'text', spellcheck: 'false', maxlength: spec.maxlength ?? 200, value: value ?? '' });
  }
}

/** A control's value as the event's data wants it: trimmed text or null, whole numbers, dates as typed. */
function valueOf(spec, element) {
  const raw = element.value.trim();
  if (raw === '') return null;
  if (spec.kind === 'number') return /^\d+$/.test(raw) ? Number(raw) : raw;
  return raw;
}

/**
 * @param {object} app
 * @param {{draftKey: string, fields: FieldSpec[], submitLabel: string, className?: string,
 *          onSave: (data: object) => Promise<void>, onDone: () => void}} spec
 * @returns {HTMLFormElement}
 */
export function eventForm(app, { draftKey, fields: specs, submitLabel, className, onSave, onDone }) {
  const draft = getDraft(draftKey)?.values ?? {};
  const wrappers = new Map();
  for (const spec of specs) {
    const element = control(spec, draft[spec.name] ?? spec.value);
    wrappers.set(spec.name, field({ label: spec.label, control: element, hint: spec.hint, required: spec.required }));
  }
  const message = formMessage();
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, submitLabel);
  const form = h('form', { class: ['event-form', className], novalidate: true },
    [...wrappers.values()], message, h('div', { class: 'form-actions' }, submit));

  const values = () => Object.fromEntries(specs.map((spec) => [spec.name, valueOf(spec, wrappers.get(spec.name).control)]));
  form.addEventListener('input', () => saveDraft(draftKey, Object.fromEntries(
    specs.map((spec) => [spec.name, wrappers.get(spec.name).control.value]))));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hide();
    for (const wrapper of wrappers.values()) wrapper.setError(null);
    const missing = specs.filter((spec) => spec.required && values()[spec.name] === null);
    if (missing.length > 0) {
      for (const spec of missing) wrappers.get(spec.name).setError(t('form.error_required'));
      wrappers.get(missing[0].name).control.focus();
      return;
    }
    const restore = markBusy(submit, t('form.saving'));
    try {
      await onSave(values());
      dropDraft(draftKey);
      onDone();
    } catch (error) {
      restore();
      const paths = error?.paths ?? [];
      for (const path of paths) wrappers.get(String(path).split('.')[0])?.setError(t('form.error_invalid'));
      message.show(paths.length > 0 ? t('form.fix_errors') : describeError(error));
    }
  });
  return form;
}

/**
 * A moment typed in a `datetime-local` control as ISO 8601 with this device's offset (the school's time).
 * @param {string} local e.g. '2025-03-10T08:05'
 * @param {Date} [at] for tests
 * @returns {string} e.g. '2025-03-10T08:05:00+06:00'
 */
export function withOffset(local, at = new Date(`${local}:00`)) {
  const minutes = -at.getTimezoneOffset();
  const sign = minutes >= 0 ? '+' : '-';
  const abs = Math.abs(minutes);
  const pad = (n) => String(n).padStart(2, '0');
  return `${local.length === 16 ? `${local}:00` : local}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
