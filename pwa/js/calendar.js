/**
 * The JavaScript twin of sync/calendar.py: the school's working days and the answer deadlines counted on
 * them, so the tablet computes the same `due_on` offline as the server. Dates are 'YYYY-MM-DD' strings
 * (which compare correctly as text); arithmetic is done in UTC so no time zone can shift a day.
 * tests/js/calendar.test.mjs replays sync/vectors/calendar.json against it.
 */

import { WEEKS } from './vocabulary.js';

export const DEFAULT_DUE_IN = 5; // working days to answer, a school setting

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * @param {string} dateStr YYYY-MM-DD
 * @returns {number} milliseconds of that day's UTC midnight
 */
function utc(dateStr) {
  if (typeof dateStr !== 'string' || !ISO_DATE.test(dateStr)) throw new RangeError(`not a date: ${dateStr}`);
  const [y, m, d] = dateStr.split('-').map(Number);
  const time = Date.UTC(y, m - 1, d);
  // Date.UTC rolls 2025-02-30 over into March; a real date round-trips unchanged.
  if (toIso(time) !== dateStr) throw new RangeError(`not a date: ${dateStr}`);
  return time;
}

/** @param {number} time UTC milliseconds */
function toIso(time) {
  const date = new Date(time);
  const pad2 = (n) => String(n).padStart(2, '0');
  return `${String(date.getUTCFullYear()).padStart(4, '0')}-${pad2(date.getUTCMonth() + 1)}-${pad2(date.getUTCDate())}`;
}

/** @param {string} dateStr */
function nextDay(dateStr) {
  return toIso(utc(dateStr) + 86_400_000); // UTC days are always 24 hours long
}

/**
 * Which days the school works. Precedence, strongest first: an extra day off, a transferred working day,
 * a public holiday, the week.
 */
export class WorkCalendar {
  /**
   * @param {{week?: number, holidays?: Iterable<string>, days_off?: Iterable<string>, working_days?: Iterable<string>}} [spec]
   */
  constructor({ week = 5, holidays = [], days_off: daysOff = [], working_days: workingDays = [] } = {}) {
    if (!WEEKS.includes(week)) throw new RangeError(`week must be 5 or 6 working days, not ${week}`);
    const dates = (values) => {
      const set = new Set(values);
      for (const d of set) utc(d); // refuse a malformed date now, not in the middle of a count
      return Object.freeze(set);
    };
    this.week = week;
    this.holidays = dates(holidays);
    this.daysOff = dates(daysOff);
    this.workingDays = dates(workingDays);
    Object.freeze(this);
  }

  /** The calendar as the server publishes it in the pull (sync/calendar.py `to_json`). */
  static fromJSON(data) {
    return new WorkCalendar(data ?? {});
  }

  /** @returns {{week: number, holidays: string[], days_off: string[], working_days: string[]}} sorted lists */
  toJSON() {
    return {
      week: this.week,
      holidays: [...this.holidays].sort(),
      days_off: [...this.daysOff].sort(),
      working_days: [...this.workingDays].sort(),
    };
  }

  /** @param {string} day YYYY-MM-DD */
  isWorkingDay(day) {
    const time = utc(day);
    if (this.daysOff.has(day)) return false;
    if (this.workingDays.has(day)) return true;
    if (this.holidays.has(day)) return false;
    const isoWeekday = ((new Date(time).getUTCDay() + 6) % 7) + 1; // Monday 1 ... Sunday 7
    return isoWeekday <= this.week;
  }

  /** The first working day strictly after `day`. */
  nextWorkingDay(day) {
    let next = nextDay(day);
    // Terminates: the sets are finite, so weekdays past the last listed date are working.
    while (!this.isWorkingDay(next)) next = nextDay(next);
    return next;
  }

  /**
   * The n-th working day after `receivedOn`; the day of receipt never counts, working or not.
   * @param {string} receivedOn YYYY-MM-DD
   * @param {number} [n]
   * @returns {string}
   */
  dueOn(receivedOn, n = DEFAULT_DUE_IN) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be at least 1, not ${n}`);
    let day = receivedOn;
    for (let i = 0; i < n; i += 1) day = this.nextWorkingDay(day);
    return day;
  }

  /**
   * Working days in (start, end]: the days an answer took. Zero when `end` is not after `start`.
   * @param {string} start
   * @param {string} end
   */
  workingDaysBetween(start, end) {
    utc(end);
    let count = 0;
    for (let day = nextDay(start); day <= end; day = nextDay(day)) {
      if (this.isWorkingDay(day)) count += 1;
    }
    return count;
  }

  /**
   * `overdue` after the due day; `due_soon` with one working day or less left; else `on_time`.
   * @param {string} dueOn
   * @param {string} today
   * @returns {'on_time' | 'due_soon' | 'overdue'}
   */
  status(dueOn, today) {
    utc(dueOn);
    utc(today);
    if (today > dueOn) return 'overdue';
    // Counting working days also holds when dueOn has since become a day off: nothing is left but that day.
    return this.workingDaysBetween(today, dueOn) <= 1 ? 'due_soon' : 'on_time';
  }
}
