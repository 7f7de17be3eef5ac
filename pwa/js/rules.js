/**
 * The JavaScript twin of sync/rules.py and of the event-data part of sync/schemas.py: what an event does to
 * a case, how a push batch splits, the school year, and the validation the forms need. Pure functions on
 * plain JSON-shaped data; tests/js/rules.test.mjs replays sync/vectors/*.json against them.
 */

// ---- Vocabularies and limits (sync/events.py, sync/schemas.py) ---------------------------------------

export const EVENT_TYPES = Object.freeze({ REGISTERED: 'appeal.registered', AMENDED: 'appeal.amended' });
export const APPLICANT_ROLES = Object.freeze(['student', 'parent', 'teacher', 'other', 'unknown']);
export const CATEGORIES = Object.freeze([
  'psychological_help', 'difficult_life_situation', 'violence_or_cruelty', 'bullying', 'deviant_behavior',
  'rights_violation', 'family_consultation', 'social_services', 'material_help', 'learning_or_teacher',
  'suggestion', 'other',
]);
/** Crockford base32: no I, L, O or U to misread on a torn-off slip. */
export const RECEIPT_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const RECEIPT_CODE_LENGTH = 6;
export const MAX_MUTATIONS_PER_PUSH = 200;
export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER; // 2^53 - 1, as sync/events.py
/** String limits, counted in Unicode code points as the server counts them. */
export const LIMITS = Object.freeze({
  full_name: 200, grade: 20, address: 500, phone: 40, summary: 2000, text: 20000, reason: 2000, age_min: 0, age_max: 120,
});
export const IDENTITY_FIELDS = Object.freeze(['full_name', 'address', 'phone']);
export const EARLIEST_RECEIVED_ON = '2000-01-01';
/** How far ahead of the school's date "received on" may be (time zones, a clock a day fast). */
export const RECEIVED_ON_TOLERANCE_DAYS = 1;
const SCHOOL_YEAR_FIRST_MONTH = 9;

// ---- Outcomes ----------------------------------------------------------------------------------------

/** The mutation can never apply; the server answers `rejected` with this code. */
export class Refusal extends Error {
  constructor(code, message = code) {
    super(message);
    this.name = 'Refusal';
    this.code = code;
  }
}

/** The mutation was made against an older version; the server answers `conflict` with the current one. */
export class Conflict extends Error {
  constructor(currentVersion) {
    super(`current version is ${currentVersion}`);
    this.name = 'Conflict';
    this.code = 'stale_version';
    this.currentVersion = currentVersion;
  }
}

/** The first new seq of a batch does not follow `last_seq` (409 seq_gap). */
export class SeqGap extends Error {
  constructor(lastSeq) {
    super(`expected seq ${lastSeq + 1}`);
    this.name = 'SeqGap';
    this.code = 'seq_gap';
    this.lastSeq = lastSeq;
  }
}

// ---- Batches and dates ---------------------------------------------------------------------------------

/**
 * Split a batch (seqs strictly increasing) into replays and new mutations, which must be contiguous.
 * @param {number} lastSeq the device's last_seq
 * @param {number[]} seqs
 * @returns {{firstNew: number}} index of the first mutation with seq > lastSeq
 * @throws {SeqGap}
 */
export function planBatch(lastSeq, seqs) {
  let firstNew = seqs.findIndex((seq) => seq > lastSeq);
  if (firstNew < 0) firstNew = seqs.length;
  let expected = lastSeq + 1;
  for (const seq of seqs.slice(firstNew)) {
    if (seq !== expected) throw new SeqGap(lastSeq);
    expected += 1;
  }
  return { firstNew };
}

/**
 * The calendar year in which the school year holding the date began (it begins on 1 September).
 * @param {string} dateStr YYYY-MM-DD
 * @returns {number}
 */
export function schoolYear(dateStr) {
  const year = Number(dateStr.slice(0, 4));
  const month = Number(dateStr.slice(5, 7));
  return month >= SCHOOL_YEAR_FIRST_MONTH ? year : year - 1;
}

/**
 * A date some days after another, both YYYY-MM-DD (calendar arithmetic, no time zone involved).
 * @param {string} dateStr
 * @param {number} days
 */
export function addDays(dateStr, days) {
  const [y, m, d] = dateStr.split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d + days));
  return `${String(date.getUTCFullYear()).padStart(4, '0')}-${pad2(date.getUTCMonth() + 1)}-${pad2(date.getUTCDate())}`;
}

/**
 * The device's local calendar day as YYYY-MM-DD (the school's "today" when the tablet is in its time zone).
 * @param {Date} [now]
 */
export function localToday(now = new Date()) {
  return `${String(now.getFullYear()).padStart(4, '0')}-${pad2(now.getMonth() + 1)}-${pad2(now.getDate())}`;
}

function pad2(n) {
  return String(n).padStart(2, '0');
}

// ---- Registration split and merge --------------------------------------------------------------------

/**
 * Split a registration into the queryable metadata and the confidential contents (as the pull carries them).
 * @param {object} registration normalised `appeal.registered` data
 * @returns {[object, object]} [meta, contents]
 */
export function splitRegistration(registration) {
  const { applicant } = registration;
  const meta = {
    received_on: registration.received_on,
    opening_id: registration.opening_id,
    category: registration.category,
    urgent: registration.urgent,
    anonymous: applicant.anonymous,
    applicant_role: applicant.role,
  };
  const contents = {
    applicant: Object.fromEntries(['full_name', 'age', 'grade', 'address', 'phone'].map((k) => [k, applicant[k]])),
    summary: registration.summary,
    text: registration.text,
    receipt_code: registration.receipt_code,
  };
  return [meta, contents];
}

/** The inverse of `splitRegistration`. */
export function joinRegistration(meta, contents) {
  return {
    received_on: meta.received_on,
    opening_id: meta.opening_id,
    category: meta.category,
    urgent: meta.urgent,
    applicant: { anonymous: meta.anonymous, role: meta.applicant_role, ...contents.applicant },
    summary: contents.summary,
    text: contents.text,
    receipt_code: contents.receipt_code,
  };
}

/**
 * A registration with a correction's changes merged in. Marking a letter anonymous removes the identity it
 * carried rather than refusing the correction.
 */
export function mergeChanges(registration, changes) {
  const { applicant: applicantChanges = {}, ...rest } = changes;
  const merged = { ...registration, ...rest, applicant: { ...registration.applicant, ...applicantChanges } };
  if (merged.applicant.anonymous && applicantChanges.anonymous === true) {
    Object.assign(merged.applicant, { full_name: null, address: null, phone: null });
  }
  return merged;
}

/**
 * The dotted paths a correction changes, sorted, as the server records them (`applicant.phone`).
 * @param {object} changes
 * @returns {string[]}
 */
export function changedFields(changes) {
  const top = Object.keys(changes).filter((k) => k !== 'applicant');
  const nested = Object.keys(changes.applicant || {}).map((k) => `applicant.${k}`);
  return [...top, ...nested].sort();
}

// ---- The rules -------------------------------------------------------------------------------------------

function checkReceivedOn(receivedOn, today) {
  if (today === null || today === undefined) return; // replaying history: checked when it was recorded
  if (receivedOn > addDays(today, RECEIVED_ON_TOLERANCE_DAYS)) {
    throw new Refusal('received_in_future', 'A letter cannot be received after today.');
  }
  if (receivedOn < EARLIEST_RECEIVED_ON) {
    throw new Refusal('received_too_early', 'The date received is before the journal began.');
  }
}

/**
 * A new case from `appeal.registered` data (already normalised).
 * @param {object|null} state
 * @param {object} data
 * @param {string|null} today YYYY-MM-DD, or null when replaying accepted history
 */
export function register(state, data, today) {
  if (state !== null && state !== undefined) throw new Refusal('appeal_exists', 'An appeal with this id is registered already.');
  checkReceivedOn(data.received_on, today);
  return { status: 'registered', version: 1, registration: data };
}

/**
 * Apply `appeal.amended`: a correction with a reason, made against `baseVersion`.
 * @param {object|null} state
 * @param {number} baseVersion
 * @param {{changes: object, reason: string}} data
 * @param {string|null} today
 */
export function amend(state, baseVersion, data, today) {
  if (state === null || state === undefined) throw new Refusal('appeal_not_found', 'No such appeal in this school.');
  if (baseVersion !== state.version) throw new Conflict(state.version);
  const loaded = loadSchema(REGISTERED_DATA, mergeChanges(state.registration, data.changes));
  if (loaded.errors) throw new Refusal('invalid_amendment', 'The corrected appeal is not valid.');
  const merged = loaded.value;
  checkReceivedOn(merged.received_on, today);
  if (schoolYear(merged.received_on) !== schoolYear(state.registration.received_on)) {
    throw new Refusal('school_year_changed', 'A correction cannot move a letter into another school year.');
  }
  return { ...state, version: state.version + 1, registration: merged };
}

/**
 * The case after one event, or a thrown `Refusal` / `Conflict`.
 * @param {object|null} state `{status, version, registration}` or null
 * @param {string} eventType
 * @param {number|null} baseVersion
 * @param {object} data normalised event data
 * @param {string|null} today
 */
export function evolve(state, eventType, baseVersion, data, today) {
  if (eventType === EVENT_TYPES.REGISTERED) return register(state, data, today);
  if (eventType === EVENT_TYPES.AMENDED) {
    if (typeof baseVersion !== 'number') throw new TypeError('appeal.amended needs its base_version');
    return amend(state, baseVersion, data, today);
  }
  throw new Refusal('unknown_event', `No rule for ${eventType}.`);
}

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
};

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

// A field: {kind, required, allowNone, default (marshmallow's load_default), validate: [fn → code|null]}.
const text = (max, extra = {}) => ({ kind: 'string', validate: [length(0, max)], ...extra });
const optionalText = (max) => text(max, { allowNone: true, default: null });
const age = (extra = {}) => ({ kind: 'integer', validate: [range(LIMITS.age_min, LIMITS.age_max)], ...extra });

function refuseIdentity(applicant) {
  const named = IDENTITY_FIELDS.filter((f) => !isBlank(applicant[f]));
  return named.length ? Object.fromEntries(named.map((f) => [f, ['anonymous_identity']])) : null;
}

const APPLICANT = {
  fields: {
    anonymous: { kind: 'boolean', required: true },
    full_name: optionalText(LIMITS.full_name),
    age: age({ allowNone: true, default: null }),
    role: { kind: 'string', required: true, validate: [oneOf(APPLICANT_ROLES)] },
    grade: optionalText(LIMITS.grade),
    address: optionalText(LIMITS.address),
    phone: optionalText(LIMITS.phone),
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
    full_name: text(LIMITS.full_name, { allowNone: true }),
    age: age({ allowNone: true }),
    role: { kind: 'string', validate: [oneOf(APPLICANT_ROLES)] },
    grade: text(LIMITS.grade, { allowNone: true }),
    address: text(LIMITS.address, { allowNone: true }),
    phone: text(LIMITS.phone, { allowNone: true }),
  },
  validate(data) {
    return data.anonymous === true ? refuseIdentity(data) : null;
  },
};

const SUMMARY = { kind: 'string', validate: [length(1, LIMITS.summary), notBlank] };

const REGISTERED_DATA = {
  fields: {
    received_on: { kind: 'date', required: true },
    opening_id: { kind: 'uuid', allowNone: true, default: null },
    applicant: { kind: 'nested', schema: APPLICANT, required: true },
    summary: { ...SUMMARY, required: true },
    text: optionalText(LIMITS.text),
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
    text: text(LIMITS.text, { allowNone: true }),
    category: { kind: 'string', validate: [oneOf(CATEGORIES)] },
    urgent: { kind: 'boolean' },
    receipt_code: { kind: 'string', allowNone: true, validate: [receiptCode] },
  },
};

const AMENDED_DATA = {
  fields: {
    changes: { kind: 'nested', schema: REGISTRATION_CHANGES, required: true },
    reason: { kind: 'string', required: true, validate: [length(1, LIMITS.reason), notBlank] },
  },
  validate(data) {
    const { changes } = data;
    const empty = Object.keys(changes).length === 0
      || (isPlainObject(changes.applicant) && Object.keys(changes.applicant).length === 0);
    return empty ? { changes: ['empty_changes'] } : null;
  },
};

const DATA_SCHEMAS = { [EVENT_TYPES.REGISTERED]: REGISTERED_DATA, [EVENT_TYPES.AMENDED]: AMENDED_DATA };
const VERSIONED = new Set([EVENT_TYPES.AMENDED]);

const MUTATION = {
  fields: {
    seq: { kind: 'integer', required: true, validate: [range(1, MAX_SAFE_INTEGER)] },
    id: { kind: 'uuid', required: true },
    type: { kind: 'string', required: true, validate: [oneOf(Object.values(EVENT_TYPES))] },
    appeal_id: { kind: 'uuid', required: true },
    base_version: { kind: 'integer', allowNone: true, default: null, validate: [range(0, MAX_SAFE_INTEGER)] },
    data: { kind: 'dict', required: true },
  },
  validate(data) {
    const versioned = VERSIONED.has(data.type);
    if (versioned && data.base_version === null) return { base_version: ['version_required'] };
    if (!versioned && data.base_version !== null) return { base_version: ['version_forbidden'] };
    return null;
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
