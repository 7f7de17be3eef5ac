/**
 * The letter form's values and the wire's registration data, converted both ways and checked with the
 * limits of sync/event_data.py, so most mistakes are shown before anything is saved or sent.
 */

import { addDays, changedFields, mergeChanges } from '../protocol.js';
import { IDENTITY_FIELDS, codePointLength, errorPaths, toReceiptCode, validateRegistration } from '../validation.js';
import {
  APPLICANT_ROLES, CATEGORIES, EARLIEST_RECEIVED_ON, LIMITS, RECEIPT_ALPHABET, RECEIPT_CODE_LENGTH,
  RECEIVED_ON_TOLERANCE_DAYS,
} from '../vocabulary.js';

export { APPLICANT_ROLES, CATEGORIES, EARLIEST_RECEIVED_ON, LIMITS };

const APPLICANT_FIELDS = ['anonymous', 'full_name', 'age', 'role', 'grade', 'address', 'phone'];
const TOP_FIELDS = ['received_on', 'opening_id', 'category', 'urgent', 'summary', 'text', 'receipt_code'];
export const RECEIPT_CODE_PATTERN = new RegExp(`^[${RECEIPT_ALPHABET}]{${RECEIPT_CODE_LENGTH}}$`);

/**
 * Registration data (the `appeal.registered` shape) from an appeal view.
 * @param {object} view
 * @returns {object}
 */
export function registrationFromView(view) {
  const applicant = view.contents?.applicant || {};
  return {
    received_on: view.received_on,
    opening_id: view.opening_id ?? null,
    applicant: {
      anonymous: Boolean(view.anonymous),
      full_name: applicant.full_name ?? null,
      age: applicant.age ?? null,
      role: view.applicant_role,
      grade: applicant.grade ?? null,
      address: applicant.address ?? null,
      phone: applicant.phone ?? null,
    },
    summary: view.contents?.summary ?? '',
    text: view.contents?.text ?? null,
    category: view.category,
    urgent: Boolean(view.urgent),
    receipt_code: view.contents?.receipt_code ?? null,
  };
}

/**
 * Form values (strings and booleans, as the controls hold them) from registration data.
 * @param {object} registration
 * @returns {object}
 */
export function valuesFromRegistration(registration) {
  const a = registration.applicant || {};
  const text = (value) => (value === null || value === undefined ? '' : String(value));
  return {
    received_on: text(registration.received_on),
    opening_id: registration.opening_id ?? null,
    anonymous: Boolean(a.anonymous),
    role: text(a.role),
    full_name: text(a.full_name),
    age: text(a.age),
    grade: text(a.grade),
    address: text(a.address),
    phone: text(a.phone),
    category: text(registration.category),
    urgent: Boolean(registration.urgent),
    summary: text(registration.summary),
    text: text(registration.text),
    receipt_code: text(registration.receipt_code),
  };
}

const orNull = (value) => {
  const trimmed = (value ?? '').trim();
  return trimmed === '' ? null : trimmed;
};

/**
 * Registration data from form values; an anonymous letter carries no name, address or phone.
 * @param {object} values
 * @returns {object}
 */
export function registrationFromValues(values) {
  const anonymous = Boolean(values.anonymous);
  const age = orNull(values.age);
  return {
    received_on: values.received_on,
    opening_id: values.opening_id ?? null,
    applicant: {
      anonymous,
      full_name: anonymous ? null : orNull(values.full_name),
      age: age === null ? null : Number(age),
      role: values.role,
      grade: orNull(values.grade),
      address: anonymous ? null : orNull(values.address),
      phone: anonymous ? null : orNull(values.phone),
    },
    summary: (values.summary ?? '').trim(),
    text: orNull(values.text),
    category: values.category,
    urgent: Boolean(values.urgent),
    receipt_code: orNull(toReceiptCode(values.receipt_code ?? '')),
  };
}

const codePoints = (text) => codePointLength(text ?? '');

/**
 * Problems with form values, as {field: message key}; empty when the letter may be saved.
 * @param {object} values
 * @param {{today: string, requireReason?: boolean, reason?: string}} options `today` as YYYY-MM-DD
 * @returns {Object<string, string>}
 */
export function valueProblems(values, { today, requireReason = false, reason = '' }) {
  const problems = {};
  if (!/^\d{4}-\d{2}-\d{2}$/.test(values.received_on || '')) problems.received_on = 'form.error_required';
  else if (values.received_on < EARLIEST_RECEIVED_ON) problems.received_on = 'error.received_too_early';
  else if (values.received_on > addDays(today, RECEIVED_ON_TOLERANCE_DAYS)) problems.received_on = 'error.received_in_future';
  if (!APPLICANT_ROLES.includes(values.role)) problems.role = 'form.error_choose';
  if (!CATEGORIES.includes(values.category)) problems.category = 'form.error_choose';
  if (!values.anonymous && !(values.full_name || '').trim()) problems.full_name = 'form.error_name_required';
  const age = (values.age || '').trim();
  if (age !== '' && !(/^\d{1,3}$/.test(age) && Number(age) <= 120)) problems.age = 'form.error_age';
  if (!(values.summary || '').trim()) problems.summary = 'form.error_required';
  for (const name of ['full_name', 'grade', 'address', 'phone', 'summary', 'text']) {
    if (!problems[name] && codePoints(values[name]) > LIMITS[name]) problems[name] = 'form.error_too_long';
  }
  const code = toReceiptCode(values.receipt_code || '');
  if (code !== '' && !RECEIPT_CODE_PATTERN.test(code)) problems.receipt_code = 'form.error_receipt_code';
  if (Object.keys(problems).length === 0) {
    // The server's own schema, mirrored by validation.js, has the last word before anything is saved.
    const { errors } = validateRegistration(registrationFromValues(values));
    for (const path of errors ? errorPaths(errors) : []) {
      const name = path.split('.').pop();
      problems[FIELD_OF_PATH[name] || name] = 'form.error_invalid';
    }
  }
  if (requireReason) {
    if (!(reason || '').trim()) problems.reason = 'amend.error_reason';
    else if (codePoints(reason) > LIMITS.reason) problems.reason = 'form.error_too_long';
  }
  return problems;
}

// Form fields named differently from the wire's paths; anything unmatched lands on the summary line.
const FIELD_OF_PATH = { anonymous: 'full_name', _schema: 'summary' };

/**
 * The `changes` of a correction: the fields that differ between two registrations, with the applicant
 * partial (PROTOCOL §7.3). Marking a letter anonymous sends `anonymous: true` alone, which clears the
 * name, address and phone on the server.
 * @param {object} before registration data
 * @param {object} after registration data
 * @returns {object} empty when nothing changed
 */
export function registrationChanges(before, after) {
  const changes = {};
  for (const key of TOP_FIELDS) {
    if (!same(before[key], after[key])) changes[key] = after[key];
  }
  const applicant = {};
  for (const key of APPLICANT_FIELDS) {
    if (!same(before.applicant[key], after.applicant[key])) applicant[key] = after.applicant[key];
  }
  if (applicant.anonymous === true) for (const key of IDENTITY_FIELDS) delete applicant[key];
  if (Object.keys(applicant).length > 0) changes.applicant = applicant;
  return changes;
}

/**
 * The dotted paths a correction changes, e.g. ['applicant.phone', 'summary'] (as the history lists them).
 * @param {object} changes
 * @returns {string[]}
 */
export function changedPaths(changes) {
  return changedFields(changes || {});
}

/**
 * Registration data with a correction applied (to prefill a form that resends a correction).
 * @param {object} registration
 * @param {object} changes
 * @returns {object}
 */
export function applyChanges(registration, changes) {
  return mergeChanges(registration, changes || {});
}

function same(a, b) {
  return (a ?? null) === (b ?? null);
}
