/**
 * What the tablet shares with the server, read from sync/spec.json (served as js/spec.json, a link to it):
 * the event types and the record each is about, who may record each, the roles of a school's staff,
 * statuses, the closed lists of values, the receipt code, the limits and the rules' constants. Nothing here
 * is written twice: a change to the protocol is made in sync/spec.json, which sync/events.py,
 * sync/event_data.py and sync/schemas.py read too.
 */

import spec from './spec.json' with { type: 'json' };

function deepFreeze(value) {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

// Frozen, since every module that imports the JSON shares this one object.
const SPEC = deepFreeze(spec);

/** `in_progress` -> `IN_PROGRESS`: the names code uses for the members of a closed list. */
const constantName = (value) => value.toUpperCase().replace(/\./g, '_');
const byName = (values, name = constantName) => Object.freeze(Object.fromEntries(values.map((v) => [name(v), v])));

/**
 * The closed list of journal events, in protocol order, named as code names them: an appeal's events by
 * what happened (`EVENT_TYPES.REGISTERED` is `appeal.registered`), the others with their record
 * (`EVENT_TYPES.OPENING_RECORDED`).
 */
export const EVENT_TYPES = byName(Object.keys(SPEC.events), (type) => {
  const [entity, action] = type.split('.');
  return constantName(entity === 'appeal' ? action : type);
});

/**
 * What an event is about: `appeal`, `opening`, `meeting` or `report`; undefined for a type outside the list.
 * @param {string} eventType
 */
export function entityOf(eventType) {
  return Object.hasOwn(SPEC.events, eventType) ? SPEC.events[eventType].entity : undefined;
}

/** Events that change an existing appeal and so name the version they were made against. */
export const VERSIONED = Object.freeze(Object.keys(SPEC.events).filter((type) => SPEC.events[type].versioned));

/** Every user role (`ROLES.PEDAGOGUE`), the district's viewer included. */
export const ROLES = byName(SPEC.roles);
/** The roles of a school's staff, those an admin may give: every role but the district's viewer. */
export const SCHOOL_ROLES = SPEC.school_roles;

/** Who may record each event; the server refuses others `role_not_allowed`. */
export const ROLES_ALLOWED = Object.freeze(Object.fromEntries(
  Object.entries(SPEC.events).map(([type, event]) => [type, event.recorded_by]),
));

/**
 * May a user of this role record this event?
 * @param {string} role
 * @param {string} eventType
 */
export function mayRecord(role, eventType) {
  return Object.hasOwn(ROLES_ALLOWED, eventType) && ROLES_ALLOWED[eventType].includes(role);
}

/** An appeal's status (`STATUSES.IN_PROGRESS`). */
export const STATUSES = byName(SPEC.statuses);

const { vocabularies } = SPEC;
/** Regulation 003 §3.4: where threatening or insulting letters are passed. */
export const AUTHORITIES = vocabularies.authorities;
/** Signed letters are answered in person, anonymous ones on the stand. */
export const ANSWER_WAYS = vocabularies.answer_ways;
/** An answer proper, or the fixed invitation to come for a conversation. */
export const ANSWER_KINDS = vocabularies.answer_kinds;
/** What was done for the child. */
export const MEASURE_KINDS = vocabularies.measure_kinds;
/** The state of the box's lock or seal found at an opening. */
export const SEAL_STATES = vocabularies.seal_states;
export const APPLICANT_ROLES = vocabularies.applicant_roles;
/** A school's working week: Monday to Friday, or Monday to Saturday. */
export const WEEKS = vocabularies.weeks;
export const CATEGORIES = vocabularies.categories;

/** Crockford base32: no I, L, O or U to misread on a torn-off slip. */
export const RECEIPT_ALPHABET = SPEC.receipt_code.alphabet;
export const RECEIPT_CODE_LENGTH = SPEC.receipt_code.length;

export const MAX_MUTATIONS_PER_PUSH = SPEC.requests.max_mutations_per_push;
/** 2^53 - 1: seq, versions and cursors stay where JavaScript counts exactly. */
export const MAX_SAFE_INTEGER = 2 ** SPEC.requests.safe_integer_bits - 1;

/**
 * The limits of one group of fields: an event type's data (`appeal.referred`) or a part several share
 * (`applicant`, `person`, `settings`, `trust_phone`, `token_request`). A number is the most code points
 * of a string, `[min, max]` the bounds of an integer or of a list's length.
 * @param {string} group
 * @returns {Object<string, number|number[]>}
 */
export function limitsOf(group) {
  const table = Object.hasOwn(SPEC.events, group) ? SPEC.events[group].limits : SPEC.limits[group];
  if (table === undefined) throw new TypeError(`No limits for ${group}.`);
  return table;
}

/** The letter form's string limits, counted in Unicode code points as the server counts them. */
export const LIMITS = Object.freeze({
  full_name: limitsOf('applicant').full_name,
  grade: limitsOf('applicant').grade,
  address: limitsOf('applicant').address,
  phone: limitsOf('applicant').phone,
  summary: limitsOf(EVENT_TYPES.REGISTERED).summary,
  text: limitsOf(EVENT_TYPES.REGISTERED).text,
  reason: limitsOf(EVENT_TYPES.AMENDED).reason,
});

/** The earliest date a letter may be received on: the journal did not exist before. */
export const EARLIEST_RECEIVED_ON = SPEC.rules.earliest_received_on;
/** How far ahead of the school's date "received on" may be (time zones, a clock a day fast). */
export const RECEIVED_ON_TOLERANCE_DAYS = SPEC.rules.received_on_tolerance_days;
/** The school year begins on the first of this month (September). */
export const SCHOOL_YEAR_FIRST_MONTH = SPEC.rules.school_year_first_month;
