/**
 * The JavaScript twin of sync/event_data.py: each event type's data and a wire mutation
 * checked and normalised as the server's marshmallow schemas will, with the same limits and closed lists,
 * both read from sync/spec.json. Also the Python string semantics the server's checks rely on (`str.strip`,
 * `str.casefold`, lengths in code points). tests/js/rules.test.mjs replays sync/vectors/mutations.json.
 */

import {
  ANSWER_KINDS, ANSWER_WAYS, APPLICANT_ROLES, AUTHORITIES, CATEGORIES, EVENT_TYPES, MAX_SAFE_INTEGER, MEASURE_KINDS,
  RECEIPT_ALPHABET, RECEIPT_CODE_LENGTH, SEAL_STATES, VERSIONED, entityOf, limitsOf,
} from './vocabulary.js';

// ---- Validation: a small twin of the marshmallow schemas --------------------------------------------------
//
// Errors come back as marshmallow shapes them: an object keyed by field (nested for nested schemas) whose
// leaves are lists of codes. The codes are ours (the server's messages are not part of the contract); the
// forms word them. `errorPaths` turns an error object into the vectors' sorted dotted paths.

const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DATE_PATTERN = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;
const RECEIPT_PATTERN = new RegExp(`^[${RECEIPT_ALPHABET}]{${RECEIPT_CODE_LENGTH}}$`);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// Python's str.strip() whitespace (str.isspace), which differs from JavaScript's trim() at the edges.
const PY_SPACE = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');
const PY_SPACES = new RegExp(`[${PY_SPACE}]+`);

/** Python's `str.strip()`. */
export function pyStrip(text) {
  return text.replace(PY_STRIP, '');
}

/** Length in Unicode code points, as the server counts it. */
export function codePointLength(text) {
  return [...text].length;
}

function isPlainObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isBlank = (value) => !pyStrip(value || '');

// Field kinds: each returns [value] on success or [undefined, codes].
const KINDS = {
  string(value) {
    if (typeof value !== 'string') return [undefined, ['invalid']];
    if (value.includes('\u0000') || LONE_SURROGATE.test(value)) return [undefined, ['unsafe']];
    return [value];
  },
  integer(value) {
    // JSON numbers only, whole ones, not booleans (marshmallow's strict Integer).
    if (typeof value !== 'number' || !Number.isInteger(value)) return [undefined, ['invalid']];
    return [value];
  },
  boolean(value) {
    return typeof value === 'boolean' ? [value] : [undefined, ['invalid']];
  },
  uuid(value) {
    return typeof value === 'string' && UUID_PATTERN.test(value) ? [value.toLowerCase()] : [undefined, ['invalid_uuid']];
  },
  date(value) {
    return typeof value === 'string' && DATE_PATTERN.test(value) && isRealDate(value) ? [value] : [undefined, ['invalid']];
  },
  dict(value) {
    return isPlainObject(value) ? [value] : [undefined, ['invalid']];
  },
  moment(value) {
    if (typeof value !== 'string') return [undefined, ['invalid']];
    const moment = parseMoment(value);
    if (!moment) return [undefined, ['invalid']];
    return moment.offset === null ? [undefined, ['naive']] : [moment.text];
  },
};

// A moment as the tablet writes it: YYYY-MM-DDTHH:MM[:SS[.ffffff]] with Z or ±HH:MM, or the same without an
// offset (naive, refused). Python's datetime.fromisoformat reads more (basic format, week dates, any separator,
// an hour alone, a comma, offsets with seconds); this reads only forms it reads the same way, so the tablet
// never sends a moment the server refuses or reads differently.
const MOMENT_PATTERN = /^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?(Z|[+-][0-9]{2}:[0-9]{2})?$/;

/**
 * Parse an ISO 8601 moment; `text` is how Python's `isoformat()` writes it back (seconds always, microseconds
 * when not zero, `Z` and `-00:00` as `+00:00`). Null when it is not a moment.
 * @param {string} value
 * @returns {{text: string, date: string, offset: string|null}|null}
 */
export function parseMoment(value) {
  const match = MOMENT_PATTERN.exec(value);
  if (!match) return null;
  const [, date, hh, mm, ss = '00', fraction = '', zone] = match;
  if (!isRealDate(date) || Number(hh) > 23 || Number(mm) > 59 || Number(ss) > 59) return null;
  let offset = null;
  if (zone !== undefined) {
    offset = zone === 'Z' ? '+00:00' : zone;
    if (Number(offset.slice(1, 3)) > 23 || Number(offset.slice(4, 6)) > 59) return null;
    if (offset === '-00:00') offset = '+00:00';
  }
  const micro = fraction.padEnd(6, '0');
  const text = `${date}T${hh}:${mm}:${ss}${Number(micro) ? `.${micro}` : ''}${offset ?? ''}`;
  return { text, date, offset };
}

function isRealDate(text) {
  const [y, m, d] = text.split('-').map(Number);
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  const date = new Date(Date.UTC(2000, m - 1, d)); // 2000 is a leap year: the day is checked below
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (m === 2 && d === 29) return leap;
  return date.getUTCMonth() === m - 1;
}

const length = (min, max) => (v) => {
  const n = codePointLength(v);
  return n < min ? 'too_short' : n > max ? 'too_long' : null;
};
const range = (min, max) => (v) => (v < min || v > max ? 'out_of_range' : null);
const oneOf = (choices) => (v) => (choices.includes(v) ? null : 'not_one_of');
const notBlank = (v) => (isBlank(v) ? 'blank' : null);
const receiptCode = (v) => (RECEIPT_PATTERN.test(v) ? null : 'receipt_code');
const count = (min, max) => (v) => (v.length < min ? 'too_few' : v.length > max ? 'too_many' : null);

// A field: {kind, required, allowNone, default (marshmallow's load_default), validate: [fn → code|null]}.
const text = (max, extra = {}) => ({ kind: 'string', validate: [length(0, max)], ...extra });
const optionalText = (max) => text(max, { allowNone: true, default: null });
const requiredText = (max) => ({ kind: 'string', required: true, validate: [length(1, max), notBlank] });
const bounded = (bounds, extra = {}) => ({ kind: 'integer', validate: [range(...bounds)], ...extra });

/** What an anonymous applicant never has. */
export const IDENTITY_FIELDS = Object.freeze(['full_name', 'address', 'phone']);

function refuseIdentity(applicant) {
  const named = IDENTITY_FIELDS.filter((f) => !isBlank(applicant[f]));
  return named.length ? Object.fromEntries(named.map((f) => [f, ['anonymous_identity']])) : null;
}

const APPLICANT_LIMITS = limitsOf('applicant');
const APPLICANT = {
  fields: {
    anonymous: { kind: 'boolean', required: true },
    full_name: optionalText(APPLICANT_LIMITS.full_name),
    age: bounded(APPLICANT_LIMITS.age, { allowNone: true, default: null }),
    role: { kind: 'string', required: true, validate: [oneOf(APPLICANT_ROLES)] },
    grade: optionalText(APPLICANT_LIMITS.grade),
    address: optionalText(APPLICANT_LIMITS.address),
    phone: optionalText(APPLICANT_LIMITS.phone),
  },
  validate(data) {
    if (data.anonymous) return refuseIdentity(data);
    return isBlank(data.full_name) ? { full_name: ['name_required'] } : null;
  },
  postLoad(data) {
    if (data.anonymous) Object.assign(data, { full_name: null, address: null, phone: null });
    return { value: data };
  },
};

const APPLICANT_CHANGES = {
  fields: {
    anonymous: { kind: 'boolean' },
    full_name: text(APPLICANT_LIMITS.full_name, { allowNone: true }),
    age: bounded(APPLICANT_LIMITS.age, { allowNone: true }),
    role: { kind: 'string', validate: [oneOf(APPLICANT_ROLES)] },
    grade: text(APPLICANT_LIMITS.grade, { allowNone: true }),
    address: text(APPLICANT_LIMITS.address, { allowNone: true }),
    phone: text(APPLICANT_LIMITS.phone, { allowNone: true }),
  },
  validate(data) {
    return data.anonymous === true ? refuseIdentity(data) : null;
  },
};

const REGISTERED_LIMITS = limitsOf(EVENT_TYPES.REGISTERED);
const SUMMARY = { kind: 'string', validate: [length(1, REGISTERED_LIMITS.summary), notBlank] };

const REGISTERED_DATA = {
  fields: {
    received_on: { kind: 'date', required: true },
    opening_id: { kind: 'uuid', allowNone: true, default: null },
    applicant: { kind: 'nested', schema: APPLICANT, required: true },
    summary: { ...SUMMARY, required: true },
    text: optionalText(REGISTERED_LIMITS.text),
    category: { kind: 'string', required: true, validate: [oneOf(CATEGORIES)] },
    urgent: { kind: 'boolean', default: false },
    receipt_code: { kind: 'string', allowNone: true, default: null, validate: [receiptCode] },
  },
};

const REGISTRATION_CHANGES = {
  fields: {
    received_on: { kind: 'date' },
    opening_id: { kind: 'uuid', allowNone: true },
    applicant: { kind: 'nested', schema: APPLICANT_CHANGES },
    summary: SUMMARY,
    text: text(REGISTERED_LIMITS.text, { allowNone: true }),
    category: { kind: 'string', validate: [oneOf(CATEGORIES)] },
    urgent: { kind: 'boolean' },
    receipt_code: { kind: 'string', allowNone: true, validate: [receiptCode] },
  },
};

const AMENDED_DATA = {
  fields: {
    changes: { kind: 'nested', schema: REGISTRATION_CHANGES, required: true },
    reason: requiredText(limitsOf(EVENT_TYPES.AMENDED).reason),
  },
  validate(data) {
    const { changes } = data;
    const empty = Object.keys(changes).length === 0
      || (isPlainObject(changes.applicant) && Object.keys(changes.applicant).length === 0);
    return empty ? { changes: ['empty_changes'] } : null;
  },
};

// ---- Case work, openings and meetings (sync/event_data.py *DataSchema) ----

const requiredDate = { kind: 'date', required: true };
const requiredOneOf = (choices) => ({ kind: 'string', required: true, validate: [oneOf(choices)] });

const PERSON = {
  fields: { name: requiredText(limitsOf('person').name), position: requiredText(limitsOf('person').position) },
};

const PRESENT_MEMBER = {
  fields: { ...PERSON.fields, confirmed: { kind: 'boolean', required: true } },
};

const memberList = (schema, bounds) => ({
  kind: 'list', of: { kind: 'nested', schema }, required: true, validate: [count(...bounds)],
});

const NOT_ACCEPTED_DATA = {
  fields: { decided_on: requiredDate, reason: requiredText(limitsOf(EVENT_TYPES.NOT_ACCEPTED).reason) },
};

const DECIDED_LIMITS = limitsOf(EVENT_TYPES.DECIDED);
const DECIDED_DATA = {
  fields: {
    meeting_id: { kind: 'uuid', required: true },
    decision: requiredText(DECIDED_LIMITS.decision),
    official: { kind: 'nested', schema: PERSON, required: true },
    measures_planned: optionalText(DECIDED_LIMITS.measures_planned),
  },
};

const REFERRED_LIMITS = limitsOf(EVENT_TYPES.REFERRED);
const REFERRED_DATA = {
  fields: {
    referred_on: requiredDate,
    authority: requiredOneOf(AUTHORITIES),
    outgoing_no: optionalText(REFERRED_LIMITS.outgoing_no),
    contact: optionalText(REFERRED_LIMITS.contact),
    note: optionalText(REFERRED_LIMITS.note),
  },
};

const FEEDBACK_LIMITS = limitsOf(EVENT_TYPES.FEEDBACK_RECEIVED);
const FEEDBACK_RECEIVED_DATA = {
  fields: {
    referral_no: bounded(FEEDBACK_LIMITS.referral_no, { required: true }),
    received_on: requiredDate,
    text: requiredText(FEEDBACK_LIMITS.text),
  },
};

const ANSWERED_DATA = {
  fields: {
    answered_on: requiredDate,
    way: requiredOneOf(ANSWER_WAYS),
    kind: requiredOneOf(ANSWER_KINDS),
    text: optionalText(limitsOf(EVENT_TYPES.ANSWERED).text),
  },
  validate(data) {
    // The invitation's words are fixed and printed in the reader's language; an answer proper has its own.
    return data.kind === 'answer' && isBlank(data.text) ? { text: ['text_required'] } : null;
  },
};

const answerNo = (eventType) => bounded(limitsOf(eventType).answer_no, { required: true });
const NOTICE_POSTED_DATA = { fields: { answer_no: answerNo(EVENT_TYPES.NOTICE_POSTED), posted_on: requiredDate } };
const NOTICE_REMOVED_DATA = { fields: { answer_no: answerNo(EVENT_TYPES.NOTICE_REMOVED), removed_on: requiredDate } };

const MEASURE_LIMITS = limitsOf(EVENT_TYPES.MEASURE_RECORDED);
const MEASURE_RECORDED_DATA = {
  fields: {
    taken_on: requiredDate,
    kind: requiredOneOf(MEASURE_KINDS),
    description: requiredText(MEASURE_LIMITS.description),
    taken_by: requiredText(MEASURE_LIMITS.taken_by),
  },
};

const CLOSED_DATA = { fields: { closed_on: requiredDate, outcome: optionalText(limitsOf(EVENT_TYPES.CLOSED).outcome) } };

const OPENING_LIMITS = limitsOf(EVENT_TYPES.OPENING_RECORDED);
const OPENING_RECORDED_DATA = {
  fields: {
    opened_at: { kind: 'moment', required: true },
    members: memberList(PERSON, OPENING_LIMITS.members),
    letters_count: bounded(OPENING_LIMITS.letters_count, { required: true }),
    seal: requiredOneOf(SEAL_STATES),
    remarks: optionalText(OPENING_LIMITS.remarks),
  },
};

const OPENING_ACKNOWLEDGED_DATA = { fields: { opening_id: { kind: 'uuid', required: true } } };
const MONTH_PATTERN = /^[0-9]{4}-(0[1-9]|1[0-2])$/;
const REPORT_PRESENTED_DATA = {
  fields: { month: { kind: 'string', required: true, validate: [(v) => (MONTH_PATTERN.test(v) ? null : 'invalid')] } },
};

const MEETING_RECORDED_DATA = {
  fields: { held_on: requiredDate, members_present: memberList(PRESENT_MEMBER, limitsOf(EVENT_TYPES.MEETING_RECORDED).members_present) },
};

const DATA_SCHEMAS = Object.freeze({
  [EVENT_TYPES.REGISTERED]: REGISTERED_DATA,
  [EVENT_TYPES.AMENDED]: AMENDED_DATA,
  [EVENT_TYPES.NOT_ACCEPTED]: NOT_ACCEPTED_DATA,
  [EVENT_TYPES.DECIDED]: DECIDED_DATA,
  [EVENT_TYPES.REFERRED]: REFERRED_DATA,
  [EVENT_TYPES.FEEDBACK_RECEIVED]: FEEDBACK_RECEIVED_DATA,
  [EVENT_TYPES.ANSWERED]: ANSWERED_DATA,
  [EVENT_TYPES.NOTICE_POSTED]: NOTICE_POSTED_DATA,
  [EVENT_TYPES.NOTICE_REMOVED]: NOTICE_REMOVED_DATA,
  [EVENT_TYPES.MEASURE_RECORDED]: MEASURE_RECORDED_DATA,
  [EVENT_TYPES.CLOSED]: CLOSED_DATA,
  [EVENT_TYPES.OPENING_RECORDED]: OPENING_RECORDED_DATA,
  [EVENT_TYPES.OPENING_ACKNOWLEDGED]: OPENING_ACKNOWLEDGED_DATA,
  [EVENT_TYPES.MEETING_RECORDED]: MEETING_RECORDED_DATA,
  [EVENT_TYPES.REPORT_PRESENTED]: REPORT_PRESENTED_DATA,
});

const MUTATION = {
  fields: {
    seq: { kind: 'integer', required: true, validate: [range(1, MAX_SAFE_INTEGER)] },
    id: { kind: 'uuid', required: true },
    type: { kind: 'string', required: true, validate: [oneOf(Object.values(EVENT_TYPES))] },
    appeal_id: { kind: 'uuid', allowNone: true, default: null },
    base_version: { kind: 'integer', allowNone: true, default: null, validate: [range(0, MAX_SAFE_INTEGER)] },
    data: { kind: 'dict', required: true },
  },
  validate(data) {
    // Both checks run and their errors add up, as marshmallow runs every @validates_schema.
    const errors = {};
    const aboutAppeal = entityOf(data.type) === 'appeal';
    if (aboutAppeal && data.appeal_id === null) errors.appeal_id = ['appeal_required'];
    if (!aboutAppeal && data.appeal_id !== null) errors.appeal_id = ['appeal_forbidden'];
    const versioned = VERSIONED.includes(data.type);
    if (versioned && data.base_version === null) errors.base_version = ['version_required'];
    if (!versioned && data.base_version !== null) errors.base_version = ['version_forbidden'];
    return Object.keys(errors).length ? errors : null;
  },
  postLoad(data) {
    const loaded = loadSchema(DATA_SCHEMAS[data.type], data.data);
    return loaded.errors ? { errors: { data: loaded.errors } } : { value: { ...data, data: loaded.value } };
  },
};

function loadField(spec, value) {
  if (value === null) return spec.allowNone ? [null] : [undefined, ['null']];
  if (spec.kind === 'nested') {
    const loaded = loadSchema(spec.schema, value);
    return loaded.errors ? [undefined, loaded.errors] : [loaded.value];
  }
  if (spec.kind === 'list') {
    // Errors are keyed by the item's index; the list's own checks (its length) run only on good items.
    if (!Array.isArray(value)) return [undefined, ['invalid']];
    const items = [];
    const itemErrors = {};
    value.forEach((item, i) => {
      const [result, errors] = loadField(spec.of, item);
      if (errors) itemErrors[i] = errors;
      else items.push(result);
    });
    if (Object.keys(itemErrors).length) return [undefined, itemErrors];
    const failed = (spec.validate || []).map((check) => check(items)).filter(Boolean);
    return failed.length ? [undefined, failed] : [items];
  }
  const [result, codes] = KINDS[spec.kind](value);
  if (codes) return [undefined, codes];
  const failed = (spec.validate || []).map((check) => check(result)).filter(Boolean);
  return failed.length ? [undefined, failed] : [result];
}

/**
 * Load raw input through a schema: `{value}` (normalised: defaults filled in, UUIDs in lower case) or
 * `{errors}`. Schema-level checks run only when every field passed, as in marshmallow.
 */
function loadSchema(schema, raw) {
  if (!isPlainObject(raw)) return { errors: { _schema: ['invalid_type'] } };
  const errors = {};
  const value = {};
  for (const [name, spec] of Object.entries(schema.fields)) {
    if (Object.hasOwn(raw, name)) {
      const [result, fieldErrors] = loadField(spec, raw[name]);
      if (fieldErrors) errors[name] = fieldErrors;
      else value[name] = result;
    } else if (spec.required) {
      errors[name] = ['required'];
    } else if ('default' in spec) {
      value[name] = spec.default;
    }
  }
  for (const name of Object.keys(raw)) {
    if (!Object.hasOwn(schema.fields, name)) errors[name] = ['unknown'];
  }
  if (Object.keys(errors).length) return { errors };
  const schemaErrors = schema.validate?.(value);
  if (schemaErrors) return { errors: schemaErrors };
  return schema.postLoad ? schema.postLoad(value) : { value };
}

/**
 * Check and normalise `appeal.registered` data, as the server will.
 * @param {object} data
 * @returns {{value?: object, errors?: object}}
 */
export function validateRegistration(data) {
  return loadSchema(REGISTERED_DATA, data);
}

/**
 * Check and normalise `appeal.amended` data `{changes, reason}`.
 * @param {object} data
 * @returns {{value?: object, errors?: object}}
 */
export function validateAmendment(data) {
  return loadSchema(AMENDED_DATA, data);
}

/**
 * Check and normalise one wire mutation, as the server's MutationSchema does.
 * @param {object} mutation
 * @returns {{value?: object, errors?: object}}
 */
export function validateMutation(mutation) {
  return loadSchema(MUTATION, mutation);
}

/**
 * Check and normalise the data of any event type, as the server's schema for that type will: `{value}`
 * (defaults filled in, UUIDs in lower case, moments as Python writes them) or `{errors}` keyed by field
 * (nested objects for nested fields, item indexes for lists), like `validateRegistration`.
 * @param {string} eventType one of EVENT_TYPES
 * @param {object} data
 * @returns {{value?: object, errors?: object}}
 * @throws {TypeError} for a type outside EVENT_TYPES (a programming error, not the user's)
 */
export function validateEventData(eventType, data) {
  if (!Object.hasOwn(DATA_SCHEMAS, eventType)) throw new TypeError(`No event type ${eventType}.`);
  return loadSchema(DATA_SCHEMAS[eventType], data);
}

/**
 * An error object as the sorted dotted paths of the fields that carry errors (`data.applicant.full_name`).
 * @param {object|string[]} errors
 * @param {string} [prefix]
 * @returns {string[]}
 */
export function errorPaths(errors, prefix = '') {
  if (!isPlainObject(errors)) return [prefix];
  const paths = [];
  for (const [key, value] of Object.entries(errors)) paths.push(...errorPaths(value, prefix ? `${prefix}.${key}` : key));
  return paths.sort();
}

/**
 * What a person typed on the slip, as a receipt code: upper case, spaces and hyphens dropped, and the
 * letters Crockford base32 reads as digits (I, L → 1, O → 0) mapped. The result may still be invalid.
 * @param {string} input
 * @returns {string}
 */
export function toReceiptCode(input) {
  return input.toUpperCase().replace(/[\s-]+/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
}

// Python's str.casefold(), code point by code point: upper then lower case gives it for every assigned code
// point of Unicode 14 but three groups, checked against Python when this was written.
const CHEROKEE = /[\u13A0-\u13F5\u13F8-\u13FD\uAB70-\uABBF]/u; // casefold maps Cherokee to upper case

/** Python's `str.casefold()`. */
export function casefold(text) {
  let folded = '';
  for (const c of text) {
    if (c === '\u0131') folded += c; // dotless i has no folding of its own
    else if (CHEROKEE.test(c)) folded += c.toUpperCase();
    else folded += c.toUpperCase().toLowerCase().replace(/\u00DF/g, 'ss'); // capital sharp s folds to ss
  }
  return folded;
}

/**
 * A person's name as compared for "listed twice": Python whitespace runs made one space, then case-folded
 * (`" ".join(name.split()).casefold()`).
 * @param {string} name
 */
export function personKey(name) {
  return casefold(pyStrip(name).split(PY_SPACES).join(' '));
}
