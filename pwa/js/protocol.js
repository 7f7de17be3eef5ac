/**
 * The pieces of the protocol that the rules, the store, the sync loop and the forms all use: the outcomes a
 * mutation can have (`Refusal`, `Conflict`, `SeqGap`), how a push batch splits, the school year and calendar
 * dates as YYYY-MM-DD text, and a registration split into the journal's row and the sealed contents (as the
 * pull carries them) and merged with a correction; and the journal's two decisions, one id one mutation
 * (`sameMutation`) and one slip one letter (`receiptCodeHolder`). The twin of the same parts of
 * sync/rules.py, pinned by the vectors sync/vectors/batch.json, school_year.json and journal.json.
 */

import { canonicalBytes } from './chain.js';
import { SCHOOL_YEAR_FIRST_MONTH } from './vocabulary.js';

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

// ---- What the journal decides ---------------------------------------------------------------------------

/**
 * One id, one mutation: whether a mutation under an id already held is that very mutation again (the server
 * answers `duplicate`), not another one under a reused id (`id_reused`). Each side is `{device, type,
 * record, base_version, data}` (record: the id of the record it is about; data normalised by the wire
 * schema), compared as canonical JSON (chain.js): the same device, and the same everything else.
 * @param {{device: string, type: string, record: string, base_version: number|null, data: object}} known
 * @param {{device: string, type: string, record: string, base_version: number|null, data: object}} incoming
 * @returns {boolean}
 */
export function sameMutation(known, incoming) {
  const left = canonicalBytes(known);
  const right = canonicalBytes(incoming);
  return left.length === right.length && left.every((byte, i) => byte === right[i]);
}

/**
 * One slip, one letter: of the letters holding a receipt code (each `{id, erased, …}`, in journal order),
 * the one that keeps `appealId` from taking it: another letter, not erased (an erased letter frees its code);
 * the earliest listed when several do. A registration or correction giving the code is then refused
 * `receipt_code_used`.
 * @param {{id: string, erased?: boolean}[]} letters
 * @param {string|null} appealId
 * @returns {object|null} the holding letter as listed, or null
 */
export function receiptCodeHolder(letters, appealId) {
  return letters.find((letter) => letter.id !== appealId && !letter.erased) ?? null;
}
