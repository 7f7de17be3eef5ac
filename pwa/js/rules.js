/**
 * The JavaScript twin of sync/rules.py and of the event-data part of sync/schemas.py: what an event does to
 * a case, an opening or a meeting, how a push batch splits, the school year, deadlines, and the validation
 * the forms need. Pure functions on plain JSON-shaped data; tests/js/rules.test.mjs replays
 * sync/vectors/*.json against them.
 */

import { DEFAULT_DUE_IN, WorkCalendar } from './calendar.js';

// ---- Vocabularies and limits (sync/events.py, sync/schemas.py) ---------------------------------------

/** The closed list of journal events (sync/events.py `EventType`). */
export const EVENT_TYPES = Object.freeze({
  REGISTERED: 'appeal.registered',
  AMENDED: 'appeal.amended',
  NOT_ACCEPTED: 'appeal.not_accepted',
  DECIDED: 'appeal.decided',
  REFERRED: 'appeal.referred',
  FEEDBACK_RECEIVED: 'appeal.feedback_received',
  ANSWERED: 'appeal.answered',
  NOTICE_POSTED: 'appeal.notice_posted',
  NOTICE_REMOVED: 'appeal.notice_removed',
  MEASURE_RECORDED: 'appeal.measure_recorded',
  CLOSED: 'appeal.closed',
  OPENING_RECORDED: 'opening.recorded',
  OPENING_ACKNOWLEDGED: 'opening.acknowledged',
  MEETING_RECORDED: 'meeting.recorded',
  REPORT_PRESENTED: 'report.presented',
});
const EVENT_TYPE_VALUES = Object.freeze(Object.values(EVENT_TYPES));

/**
 * What an event is about: `appeal`, `opening`, `meeting` or `report` (the part before the dot).
 * @param {string} eventType
 */
export function entityOf(eventType) {
  return eventType.split('.', 1)[0];
}

/** Events that change an existing appeal and so name the version they were made against. */
export const VERSIONED = Object.freeze(EVENT_TYPE_VALUES.filter((t) => entityOf(t) === 'appeal' && t !== EVENT_TYPES.REGISTERED));

export const ROLES = Object.freeze({
  PEDAGOGUE: 'pedagogue', COMMISSION: 'commission', DIRECTOR: 'director', ADMIN: 'admin', DISTRICT: 'district',
});
const CASE_WORK = Object.freeze([ROLES.PEDAGOGUE, ROLES.COMMISSION]);
const PEDAGOGUE_ONLY = Object.freeze([ROLES.PEDAGOGUE]);
/** Who may record each event (sync/events.py `ROLES_ALLOWED`); the server refuses others `role_not_allowed`. */
export const ROLES_ALLOWED = Object.freeze({
  [EVENT_TYPES.REGISTERED]: PEDAGOGUE_ONLY,
  [EVENT_TYPES.AMENDED]: PEDAGOGUE_ONLY,
  [EVENT_TYPES.NOT_ACCEPTED]: PEDAGOGUE_ONLY,
  [EVENT_TYPES.DECIDED]: CASE_WORK,
  [EVENT_TYPES.REFERRED]: CASE_WORK,
  [EVENT_TYPES.FEEDBACK_RECEIVED]: CASE_WORK,
  [EVENT_TYPES.ANSWERED]: CASE_WORK,
  [EVENT_TYPES.NOTICE_POSTED]: CASE_WORK,
  [EVENT_TYPES.NOTICE_REMOVED]: CASE_WORK,
  [EVENT_TYPES.MEASURE_RECORDED]: CASE_WORK,
  [EVENT_TYPES.CLOSED]: CASE_WORK,
  [EVENT_TYPES.OPENING_RECORDED]: PEDAGOGUE_ONLY,
  [EVENT_TYPES.OPENING_ACKNOWLEDGED]: Object.freeze([ROLES.DIRECTOR]),
  [EVENT_TYPES.MEETING_RECORDED]: CASE_WORK,
  [EVENT_TYPES.REPORT_PRESENTED]: PEDAGOGUE_ONLY,
});

/**
 * May a user of this role record this event?
 * @param {string} role
 * @param {string} eventType
 */
export function mayRecord(role, eventType) {
  return Object.hasOwn(ROLES_ALLOWED, eventType) && ROLES_ALLOWED[eventType].includes(role);
}

/** An appeal's status (sync/events.py `AppealStatus`). */
export const STATUSES = Object.freeze({
  REGISTERED: 'registered', // in the journal, no case work yet
  NOT_ACCEPTED: 'not_accepted', // regulation 003 §3.3: numbered and counted, nothing more
  IN_PROGRESS: 'in_progress', // decided on, referred or acted upon, not yet answered
  ANSWERED: 'answered',
  CLOSED: 'closed',
});
/** Regulation 003 §3.4: where threatening or insulting letters are passed. */
export const AUTHORITIES = Object.freeze(['police', 'juvenile_inspector', 'social_protection', 'health', 'other']);
/** Signed letters are answered in person, anonymous ones on the stand. */
export const ANSWER_WAYS = Object.freeze(['in_person', 'stand']);
/** An answer proper, or the fixed invitation to come for a conversation. */
export const ANSWER_KINDS = Object.freeze(['answer', 'invitation']);
export const MEASURE_KINDS = Object.freeze([
  'conversation', 'psychological_help', 'moral_help', 'material_help', 'explanatory_work', 'other',
]);
/** The state of the box's lock or seal found at an opening. */
export const SEAL_STATES = Object.freeze(['intact', 'damaged', 'missing']);
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
/**
 * String limits, counted in Unicode code points as the server counts them, and numeric bounds. The first
 * line is the registration's; the rest are the case work's, openings' and meetings'.
 */
export const LIMITS = Object.freeze({
  full_name: 200, grade: 20, address: 500, phone: 40, summary: 2000, text: 20000, reason: 2000, age_min: 0, age_max: 120,
  person_name: 200, position: 200, decision: 4000, measures_planned: 4000, outgoing_no: 50, contact: 200, note: 2000,
  feedback_text: 4000, answer_text: 4000, description: 4000, taken_by: 200, outcome: 2000, remarks: 2000,
  entry_no_max: 100, letters_count_max: 10000, members_min: 1, members_max: 10,
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
export function register(state, data, today, openings = null) {
  if (state !== null && state !== undefined) throw new Refusal('appeal_exists', 'An appeal with this id is registered already.');
  checkReceivedOn(data.received_on, today);
  checkOpening(data, openings);
  return { status: STATUSES.REGISTERED, version: 1, registration: data, case: emptyCase() };
}

/**
 * Apply `appeal.amended`: a correction with a reason, made against `baseVersion`. The case work stays.
 * @param {object|null} state
 * @param {number} baseVersion
 * @param {{changes: object, reason: string}} data
 * @param {string|null} today
 */
/**
 * A letter registered from an opening names an opening of this school, and was not taken out before it.
 * @param {object} registration
 * @param {object|Map|null} openings the recorded openings' data by id, or null to look nothing up
 */
function checkOpening(registration, openings) {
  if (isAbsent(openings) || isAbsent(registration.opening_id)) return;
  const opening = openings instanceof Map ? openings.get(registration.opening_id) : openings[registration.opening_id];
  if (!opening) throw new Refusal('opening_not_found', 'The letter names an opening this school has not recorded.');
  if (registration.received_on < opening.opened_at.slice(0, 10)) {
    throw new Refusal('received_before_opening', 'A letter cannot be received before the opening it came out at.');
  }
}

export function amend(state, baseVersion, data, today, openings = null) {
  if (state === null || state === undefined) throw new Refusal('appeal_not_found', 'No such appeal in this school.');
  if (baseVersion !== state.version) throw new Conflict(state.version);
  const loaded = loadSchema(REGISTERED_DATA, mergeChanges(state.registration, data.changes));
  if (loaded.errors) throw new Refusal('invalid_amendment', 'The corrected appeal is not valid.');
  const merged = loaded.value;
  checkReceivedOn(merged.received_on, today);
  if (schoolYear(merged.received_on) !== schoolYear(state.registration.received_on)) {
    throw new Refusal('school_year_changed', 'A correction cannot move a letter into another school year.');
  }
  checkAgainstCaseWork(state, merged);
  checkOpening(merged, openings);
  return { ...state, version: state.version + 1, registration: merged };
}

/** The dates of the case work recorded so far (decisions carry their meeting's date, not their own). */
export function caseDates(work) {
  return [
    ...(work.not_accepted ? [work.not_accepted.decided_on] : []),
    ...work.referrals.map((r) => r.referred_on), ...work.answers.map((a) => a.answered_on),
    ...work.measures.map((m) => m.taken_on), ...(work.closed ? [work.closed.closed_on] : []),
  ];
}

/** A correction keeps the case work true: no answer given the wrong way, no work dated before receipt. */
function checkAgainstCaseWork(state, merged) {
  const work = state.case ?? emptyCase();
  if (work.answers.length > 0 && merged.applicant.anonymous !== state.registration.applicant.anonymous) {
    throw new Refusal('anonymity_after_answer', 'An answered letter cannot change between signed and anonymous.');
  }
  const dates = caseDates(work);
  if (dates.length > 0 && merged.received_on > dates.reduce((a, b) => (a < b ? a : b))) {
    throw new Refusal('received_after_case_work', 'The date received cannot move after the case work on it.');
  }
}

// ---- Case work: what happens to a letter after it is registered ------------------------------------------

/**
 * The case work of a letter just registered: every list empty, nothing decided.
 * @returns {{not_accepted: null, decisions: [], referrals: [], answers: [], measures: [], closed: null}}
 */
export function emptyCase() {
  return { not_accepted: null, decisions: [], referrals: [], answers: [], measures: [], closed: null };
}

const isAbsent = (value) => value === null || value === undefined;

/** A date of case work lies between the day the letter was received and today. */
function checkDay(state, day, today) {
  if (isAbsent(today)) return;
  if (day < state.registration.received_on) {
    throw new Refusal('date_before_received', 'Case work cannot be dated before the letter was received.');
  }
  if (day > addDays(today, RECEIVED_ON_TOLERANCE_DAYS)) {
    throw new Refusal('date_in_future', 'Case work cannot be dated after today.');
  }
}

/** The state to work on, a copy; refuses a missing appeal, a stale version and a finished case. */
function openCase(state, baseVersion, { afterClosing = false } = {}) {
  if (isAbsent(state)) throw new Refusal('appeal_not_found', 'No such appeal in this school.');
  if (baseVersion !== state.version) throw new Conflict(state.version);
  if (state.status === STATUSES.NOT_ACCEPTED) {
    throw new Refusal('appeal_not_accepted', 'A letter that was not accepted gets no case work.');
  }
  if (state.status === STATUSES.CLOSED && !afterClosing) throw new Refusal('appeal_closed', 'The case is closed.');
  const case_ = state.case || emptyCase();
  const copied = Object.fromEntries(Object.entries(case_).map(([key, value]) => (
    [key, Array.isArray(value) ? value.map((item) => ({ ...item })) : value])));
  return { ...state, version: state.version + 1, case: copied };
}

/** Case work moves a registered letter into progress; a later status (answered) stays. */
function started(state) {
  if (state.status === STATUSES.REGISTERED) state.status = STATUSES.IN_PROGRESS;
  return state;
}

function numbered(items, number, code) {
  if (!(number >= 1 && number <= items.length)) throw new Refusal(code, 'No such entry in this case.');
  return items[number - 1];
}

/** `appeal.not_accepted` (regulation 003 §3.3): only a letter nobody has worked on yet. */
export function notAccept(state, baseVersion, data, today) {
  const next = openCase(state, baseVersion);
  if (next.status !== STATUSES.REGISTERED) {
    throw new Refusal('case_work_started', 'A letter already worked on cannot be refused any more.');
  }
  checkDay(next, data.decided_on, today);
  next.status = STATUSES.NOT_ACCEPTED;
  next.case.not_accepted = { ...data };
  return next;
}

/**
 * `appeal.decided`: the meeting it names must be recorded (looked up in `meetings` unless replaying).
 * @param {object|null} state
 * @param {number} baseVersion
 * @param {object} data
 * @param {string|null} today
 * @param {Object<string, {held_on: string}>|Map<string, {held_on: string}>|null} [meetings] meeting data by id
 */
export function decide(state, baseVersion, data, today, meetings = null) {
  const next = openCase(state, baseVersion);
  if (!isAbsent(today)) {
    const meeting = lookUp(meetings, data.meeting_id);
    if (isAbsent(meeting)) {
      throw new Refusal('meeting_not_found', 'The decision names a meeting this school has not recorded.');
    }
    checkDay(next, meeting.held_on, today);
  }
  next.case.decisions.push({ ...data });
  return started(next);
}

function lookUp(records, id) {
  if (isAbsent(records)) return undefined;
  if (records instanceof Map) return records.get(id);
  return Object.hasOwn(records, id) ? records[id] : undefined;
}

/** `appeal.referred` (regulation 003 §3.4): passed to an authority; its feedback is awaited. */
export function refer(state, baseVersion, data, today) {
  const next = openCase(state, baseVersion);
  checkDay(next, data.referred_on, today);
  next.case.referrals.push({ ...data, feedback: null });
  return started(next);
}

/** `appeal.feedback_received` for referral number `referral_no` (from 1); allowed after closing too. */
export function receiveFeedback(state, baseVersion, data, today) {
  // An authority often answers after the school has closed its part of the case.
  const next = openCase(state, baseVersion, { afterClosing: true });
  const referral = numbered(next.case.referrals, data.referral_no, 'referral_not_found');
  if (referral.feedback !== null && referral.feedback !== undefined) {
    throw new Refusal('feedback_recorded_already', "This referral's feedback is recorded already.");
  }
  checkDay(next, data.received_on, today);
  if (data.received_on < referral.referred_on) {
    throw new Refusal('date_before_referral', 'Feedback cannot come before the referral.');
  }
  referral.feedback = { received_on: data.received_on, text: data.text };
  return next;
}

/** `appeal.answered`: in person for a signed letter, on the stand for an anonymous one. */
export function answer(state, baseVersion, data, today) {
  const next = openCase(state, baseVersion);
  const { anonymous } = next.registration.applicant;
  if (anonymous && data.way === 'in_person') {
    throw new Refusal('anonymous_in_person', 'An anonymous letter is answered on the stand.');
  }
  if (!anonymous && data.way === 'stand') {
    throw new Refusal('signed_on_stand', 'A signed letter is answered in person, not on the stand.');
  }
  checkDay(next, data.answered_on, today);
  next.case.answers.push({ ...data, posted_on: null, removed_on: null });
  next.status = STATUSES.ANSWERED;
  return next;
}

/** `appeal.notice_posted`: answer number `answer_no` (from 1), given on the stand, goes up. */
export function postNotice(state, baseVersion, data, today) {
  const next = openCase(state, baseVersion, { afterClosing: true });
  const notice = numbered(next.case.answers, data.answer_no, 'answer_not_found');
  if (notice.way !== 'stand') throw new Refusal('not_on_stand', 'Only an answer given on the stand is posted.');
  if (notice.posted_on !== null && notice.posted_on !== undefined) {
    throw new Refusal('notice_posted_already', 'This notice is posted already.');
  }
  checkDay(next, data.posted_on, today);
  if (data.posted_on < notice.answered_on) {
    throw new Refusal('date_before_answer', 'A notice cannot be posted before the answer.');
  }
  notice.posted_on = data.posted_on;
  return next;
}

/** `appeal.notice_removed`: the posted notice of answer number `answer_no` comes down. */
export function removeNotice(state, baseVersion, data, today) {
  const next = openCase(state, baseVersion, { afterClosing: true });
  const notice = numbered(next.case.answers, data.answer_no, 'answer_not_found');
  if (notice.posted_on === null || notice.posted_on === undefined) {
    throw new Refusal('notice_not_posted', 'The notice was never posted.');
  }
  if (notice.removed_on !== null && notice.removed_on !== undefined) {
    throw new Refusal('notice_removed_already', 'This notice is taken down already.');
  }
  checkDay(next, data.removed_on, today);
  if (data.removed_on < notice.posted_on) {
    throw new Refusal('date_before_posting', 'A notice cannot come down before it went up.');
  }
  notice.removed_on = data.removed_on;
  return next;
}

/** `appeal.measure_recorded`: what was done for the child, by whom and when. */
export function recordMeasure(state, baseVersion, data, today) {
  const next = openCase(state, baseVersion);
  checkDay(next, data.taken_on, today);
  next.case.measures.push({ ...data });
  return started(next);
}

/** `appeal.closed`: only an answered case. */
export function close(state, baseVersion, data, today) {
  const next = openCase(state, baseVersion);
  if (next.status !== STATUSES.ANSWERED) {
    throw new Refusal('not_answered', 'A case is closed only after the letter was answered.');
  }
  checkDay(next, data.closed_on, today);
  next.status = STATUSES.CLOSED;
  next.case.closed = { ...data };
  return next;
}

// ---- Openings and meetings: records of their own, whose id is the id of the event that recorded them -----

function notAfterToday(day, today) {
  if (!isAbsent(today) && day > addDays(today, RECEIVED_ON_TOLERANCE_DAYS)) {
    throw new Refusal('date_in_future', 'This cannot be dated after today.');
  }
}

/**
 * `opening.recorded`: the act of opening the box. The state is `{version: 1, opening: data, acknowledged: false}`.
 * @param {object|null} state
 * @param {object} data
 * @param {string|null} today
 */
export function recordOpening(state, data, today) {
  if (!isAbsent(state)) throw new Refusal('record_exists', 'A record with this id exists already.');
  // The date as written on the act, in the offset the tablet gave: the school's own local date.
  notAfterToday(data.opened_at.slice(0, 10), today);
  refuseRepeatedMembers(data.members);
  return { version: 1, opening: data, acknowledged: false };
}

/**
 * `opening.acknowledged`: the director has received the act.
 * @param {object|null} state the opening's state
 */
export function acknowledgeOpening(state) {
  if (isAbsent(state)) throw new Refusal('opening_not_found', 'No such opening in this school.');
  if (state.acknowledged) throw new Refusal('acknowledged_already', 'The director has acknowledged this act already.');
  return { ...state, version: state.version + 1, acknowledged: true };
}

/**
 * `meeting.recorded`: a commission meeting; with a `today`, every member present confirmed and at least
 * `quorum` of them (when given). The state is `{version: 1, meeting: data}`.
 * @param {object|null} state
 * @param {object} data
 * @param {string|null} today
 * @param {number|null} [quorum]
 */
export function recordMeeting(state, data, today, quorum = null) {
  if (!isAbsent(state)) throw new Refusal('record_exists', 'A record with this id exists already.');
  const present = data.members_present;
  refuseRepeatedMembers(present);
  if (!isAbsent(today)) { // replaying history: a meeting that had its quorum then keeps it
    notAfterToday(data.held_on, today);
    if (!present.every((member) => member.confirmed)) {
      throw new Refusal('member_not_confirmed', 'Every member present confirms the minutes.');
    }
    if (!isAbsent(quorum) && present.length < quorum) {
      throw new Refusal('no_quorum', 'Fewer members are present than the school\'s quorum.');
    }
  }
  return { version: 1, meeting: data };
}

/**
 * The monthly information presented: once per month, and not for a month still to come.
 * @param {object|null} state
 * @param {{month: string}} data
 * @param {string|null} today
 */
export function recordReport(state, data, today) {
  if (!isAbsent(state)) throw new Refusal('record_exists', 'A record with this id exists already.');
  if (!isAbsent(today) && data.month > today.slice(0, 7)) throw new Refusal('date_in_future', 'This cannot be dated after today.');
  return { version: 1, report: data };
}

function refuseRepeatedMembers(members) {
  const names = members.map((member) => personKey(member.name));
  if (new Set(names).size !== names.length) throw new Refusal('member_listed_twice', 'A member is listed twice.');
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

// ---- Deadlines -------------------------------------------------------------------------------------------

/**
 * The day the answer is due, or null for a letter not accepted, which has no deadline.
 * @param {string} status the appeal's status
 * @param {string} receivedOn YYYY-MM-DD
 * @param {WorkCalendar|{week?: number, holidays?: string[], days_off?: string[], working_days?: string[], due_in_days?: number}} calendar
 *   a WorkCalendar, or the calendar as the pull carries it
 * @param {number} [dueIn] working days to answer; by default the pulled calendar's `due_in_days`, else 5
 * @returns {string|null} YYYY-MM-DD
 */
export function dueOn(status, receivedOn, calendar, dueIn) {
  if (status === STATUSES.NOT_ACCEPTED) return null;
  const workCalendar = calendar instanceof WorkCalendar ? calendar : WorkCalendar.fromJSON(calendar);
  return workCalendar.dueOn(receivedOn, dueIn ?? calendar?.due_in_days ?? DEFAULT_DUE_IN);
}

/**
 * The day of the first answer (an invitation to talk answers the letter too), or null.
 * @param {object} state
 * @returns {string|null} YYYY-MM-DD
 */
export function answeredOn(state) {
  const { answers } = state.case || emptyCase();
  return answers.length ? answers[0].answered_on : null;
}

// ---- One event -------------------------------------------------------------------------------------------

const CASE_RULES = Object.freeze({
  [EVENT_TYPES.NOT_ACCEPTED]: notAccept,
  [EVENT_TYPES.REFERRED]: refer,
  [EVENT_TYPES.FEEDBACK_RECEIVED]: receiveFeedback,
  [EVENT_TYPES.ANSWERED]: answer,
  [EVENT_TYPES.NOTICE_POSTED]: postNotice,
  [EVENT_TYPES.NOTICE_REMOVED]: removeNotice,
  [EVENT_TYPES.MEASURE_RECORDED]: recordMeasure,
  [EVENT_TYPES.CLOSED]: close,
});

/**
 * The record (an appeal, an opening or a meeting) after one event, or a thrown `Refusal` / `Conflict`.
 * The given state is never changed.
 * @param {object|null} state the record's state, or null
 * @param {string} eventType
 * @param {number|null} baseVersion required for every type in VERSIONED
 * @param {object} data normalised event data
 * @param {string|null} today the school's local date, or null when replaying accepted history (then checks
 *   against today and the school's other records are skipped)
 * @param {{quorum?: number|null, meetings?: object|Map|null, openings?: object|Map|null}} [context] what a
 *   rule needs from outside the record: the school's quorum setting, the recorded meetings' and openings'
 *   data by id
 */
export function evolve(state, eventType, baseVersion, data, today, context = {}) {
  const { quorum = null, meetings = null } = context ?? {};
  // Replaying history (today null) looks nothing up: what was accepted then stands.
  const openings = isAbsent(today) ? null : context?.openings ?? null;
  if (!EVENT_TYPE_VALUES.includes(eventType)) throw new Refusal('unknown_event', `No rule for ${eventType}.`);
  if (eventType === EVENT_TYPES.REGISTERED) return register(state, data, today, openings);
  if (eventType === EVENT_TYPES.OPENING_RECORDED) return recordOpening(state, data, today);
  if (eventType === EVENT_TYPES.OPENING_ACKNOWLEDGED) return acknowledgeOpening(state);
  if (eventType === EVENT_TYPES.MEETING_RECORDED) return recordMeeting(state, data, today, quorum);
  if (eventType === EVENT_TYPES.REPORT_PRESENTED) {
    if ((context?.presented ?? []).includes(data.month)) {
      throw new Refusal('presented_already', 'This month\'s information is marked presented already.');
    }
    return recordReport(state, data, today);
  }
  // The wire schema requires it for every event that changes an appeal.
  if (typeof baseVersion !== 'number') throw new TypeError(`${eventType} needs its base_version`);
  if (eventType === EVENT_TYPES.AMENDED) return amend(state, baseVersion, data, today, openings);
  if (eventType === EVENT_TYPES.DECIDED) return decide(state, baseVersion, data, today, meetings);
  return CASE_RULES[eventType](state, baseVersion, data, today);
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

// ---- Case work, openings and meetings (sync/schemas.py *DataSchema) ----

const requiredText = (max) => ({ kind: 'string', required: true, validate: [length(1, max), notBlank] });
const requiredDate = { kind: 'date', required: true };
const requiredOneOf = (choices) => ({ kind: 'string', required: true, validate: [oneOf(choices)] });
const entryNo = { kind: 'integer', required: true, validate: [range(1, LIMITS.entry_no_max)] };

const PERSON = {
  fields: { name: requiredText(LIMITS.person_name), position: requiredText(LIMITS.position) },
};

const PRESENT_MEMBER = {
  fields: { ...PERSON.fields, confirmed: { kind: 'boolean', required: true } },
};

const memberList = (schema) => ({
  kind: 'list', of: { kind: 'nested', schema }, required: true, validate: [count(LIMITS.members_min, LIMITS.members_max)],
});

const NOT_ACCEPTED_DATA = {
  fields: { decided_on: requiredDate, reason: requiredText(LIMITS.reason) },
};

const DECIDED_DATA = {
  fields: {
    meeting_id: { kind: 'uuid', required: true },
    decision: requiredText(LIMITS.decision),
    official: { kind: 'nested', schema: PERSON, required: true },
    measures_planned: optionalText(LIMITS.measures_planned),
  },
};

const REFERRED_DATA = {
  fields: {
    referred_on: requiredDate,
    authority: requiredOneOf(AUTHORITIES),
    outgoing_no: optionalText(LIMITS.outgoing_no),
    contact: optionalText(LIMITS.contact),
    note: optionalText(LIMITS.note),
  },
};

const FEEDBACK_RECEIVED_DATA = {
  fields: { referral_no: entryNo, received_on: requiredDate, text: requiredText(LIMITS.feedback_text) },
};

const ANSWERED_DATA = {
  fields: {
    answered_on: requiredDate,
    way: requiredOneOf(ANSWER_WAYS),
    kind: requiredOneOf(ANSWER_KINDS),
    text: optionalText(LIMITS.answer_text),
  },
  validate(data) {
    // The invitation's words are fixed and printed in the reader's language; an answer proper has its own.
    return data.kind === 'answer' && isBlank(data.text) ? { text: ['text_required'] } : null;
  },
};

const NOTICE_POSTED_DATA = { fields: { answer_no: entryNo, posted_on: requiredDate } };
const NOTICE_REMOVED_DATA = { fields: { answer_no: entryNo, removed_on: requiredDate } };

const MEASURE_RECORDED_DATA = {
  fields: {
    taken_on: requiredDate,
    kind: requiredOneOf(MEASURE_KINDS),
    description: requiredText(LIMITS.description),
    taken_by: requiredText(LIMITS.taken_by),
  },
};

const CLOSED_DATA = { fields: { closed_on: requiredDate, outcome: optionalText(LIMITS.outcome) } };

const OPENING_RECORDED_DATA = {
  fields: {
    opened_at: { kind: 'moment', required: true },
    members: memberList(PERSON),
    letters_count: { kind: 'integer', required: true, validate: [range(0, LIMITS.letters_count_max)] },
    seal: requiredOneOf(SEAL_STATES),
    remarks: optionalText(LIMITS.remarks),
  },
};

const OPENING_ACKNOWLEDGED_DATA = { fields: { opening_id: { kind: 'uuid', required: true } } };
const MONTH_PATTERN = /^[0-9]{4}-(0[1-9]|1[0-2])$/;
const REPORT_PRESENTED_DATA = {
  fields: { month: { kind: 'string', required: true, validate: [(v) => (MONTH_PATTERN.test(v) ? null : 'invalid')] } },
};

const MEETING_RECORDED_DATA = {
  fields: { held_on: requiredDate, members_present: memberList(PRESENT_MEMBER) },
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
    type: { kind: 'string', required: true, validate: [oneOf(EVENT_TYPE_VALUES)] },
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
