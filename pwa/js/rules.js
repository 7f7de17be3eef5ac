/**
 * The JavaScript twin of sync/rules.py: what an event does to a case, an opening, a meeting or a monthly
 * report (`evolve`), and the answer's deadline. Pure functions on plain JSON-shaped data, written by hand;
 * tests/js/rules.test.mjs replays sync/vectors/evolve.json against them, and checks that the codes they
 * refuse with are sync/spec.json's `refusals`.
 */

import { DEFAULT_DUE_IN, WorkCalendar } from './calendar.js';
import { Conflict, Refusal, addDays, mergeChanges, schoolYear } from './protocol.js';
import { personKey, validateRegistration } from './validation.js';
import { EARLIEST_RECEIVED_ON, EVENT_TYPES, RECEIVED_ON_TOLERANCE_DAYS, STATUSES } from './vocabulary.js';

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

/**
 * Apply `appeal.amended`: a correction with a reason, made against `baseVersion`. The case work stays.
 * @param {object|null} state
 * @param {number} baseVersion
 * @param {{changes: object, reason: string}} data
 * @param {string|null} today
 */
export function amend(state, baseVersion, data, today, openings = null) {
  if (state === null || state === undefined) throw new Refusal('appeal_not_found', 'No such appeal in this school.');
  if (baseVersion !== state.version) throw new Conflict(state.version);
  const loaded = validateRegistration(mergeChanges(state.registration, data.changes));
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
  if (!Object.values(EVENT_TYPES).includes(eventType)) throw new Refusal('unknown_event', `No rule for ${eventType}.`);
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
