// The journal's filters (pwa/js/ui/filters.js): the hash query read and written back, the search over the
// decrypted letters (case-insensitive, Cyrillic and Kyrgyz letters, ё as е, case work included), the
// deadline and period filters, and the next meeting's agenda. Fictional letters only.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  applyFilters, createSearchMemory, emptyFilters, fold, isFiltered, journalHash, MAX_SEARCHES, nextAgenda, nextCommissionDay,
  parseFilters, searchText,
} from '../../pwa/js/ui/filters.js';

const MON_TO_FRI = { week: 5, holidays: [], days_off: [], working_days: [], due_in_days: 5 };

function letter(id, extra = {}) {
  const { contents, ...rest } = extra;
  return {
    id, serial_no: null, status: 'registered', received_on: '2026-11-16', category: 'bullying', urgent: false, anonymous: false,
    contents: {
      applicant: { full_name: null }, summary: '', text: null, receipt_code: null,
      case: { not_accepted: null, decisions: [], referrals: [], answers: [], measures: [], closed: null },
      ...contents,
    },
    ...rest,
  };
}

const ids = (views) => views.map((v) => v.id);
const TODAY = '2026-11-20'; // a Friday
const context = { calendar: MON_TO_FRI, today: TODAY, agenda: null };

test('the hash query is read strictly: unknown values and malformed dates are dropped', () => {
  const searches = createSearchMemory();
  const ref = searches.remember('деньги');
  assert.deepEqual(parseFilters(''), emptyFilters());
  assert.deepEqual(parseFilters(undefined), emptyFilters());
  assert.deepEqual(parseFilters(`?status=answered&category=bullying&deadline=overdue&urgent=1&from=2026-11-01&to=2026-11-30&agenda=next&s=${ref}`, searches), {
    q: 'деньги', status: 'answered', category: 'bullying', deadline: 'overdue', urgent: true,
    from: '2026-11-01', to: '2026-11-30', agenda: true,
  });
  assert.deepEqual(parseFilters('status=lost&category=<b>&deadline=on_time&urgent=yes&from=2026-13-45&to=tomorrow&agenda=1'), emptyFilters());
  assert.equal(parseFilters(`s=${searches.remember('я'.repeat(500))}`, searches).q.length, 200);
  // Words in an address are never read (an old `q=`), nor a reference this tab does not know (after a reload).
  assert.equal(parseFilters('q=%D0%B4%D0%B5%D0%BD%D1%8C%D0%B3%D0%B8', searches).q, '');
  assert.equal(parseFilters(`s=${ref}`, createSearchMemory()).q, '');
  assert.equal(parseFilters(`s=${ref}`).q, '');
});

test('the search is in the hash by a random reference only, never its words', () => {
  const searches = createSearchMemory();
  const words = 'Айгүл Тестова';
  const hash = journalHash({ q: words }, searches);
  assert.match(hash, /^#\/journal\?s=[0-9a-f]{16}$/);
  for (const form of [words, encodeURIComponent(words), new URLSearchParams({ q: words }).toString().slice(2), 'Айгүл']) {
    assert.equal(hash.includes(form), false, form);
  }
  assert.equal(journalHash({ q: words }, searches), hash); // the same words, the same reference
  assert.notEqual(journalHash({ q: words }, createSearchMemory()), hash); // another tab draws its own
  assert.equal(journalHash({ q: words }), '#/journal'); // without a memory the search is left out
  const small = createSearchMemory({ limit: 2 });
  const first = small.remember('бир');
  small.remember('эки');
  small.remember('үч');
  assert.equal(small.recall(first), ''); // the oldest is forgotten first
  assert.equal(MAX_SEARCHES >= 100, true);
});

test('the hash written back reads as the same filters, in a fixed order, and is bare without filters', () => {
  const searches = createSearchMemory();
  assert.equal(journalHash(emptyFilters(), searches), '#/journal');
  assert.equal(journalHash({ q: '   ' }, searches), '#/journal');
  const filters = { ...emptyFilters(), q: 'Айгүл & 7Б?', status: 'in_progress', urgent: true, from: '2026-11-01', agenda: true };
  const hash = journalHash(filters, searches);
  assert.match(hash, /^#\/journal\?agenda=next&status=in_progress&urgent=1&from=2026-11-01&s=[0-9a-f]{16}$/);
  assert.deepEqual(parseFilters(hash.slice(hash.indexOf('?')), searches), filters);
  assert.equal(isFiltered(emptyFilters()), false);
  assert.equal(isFiltered({ q: ' ' }), false);
  for (const one of [{ q: 'a' }, { status: 'closed' }, { category: 'other' }, { deadline: 'due_soon' }, { urgent: true },
    { from: '2026-01-01' }, { to: '2026-01-01' }, { agenda: true }]) {
    assert.equal(isFiltered(one), true, JSON.stringify(one));
  }
});

test('folding: locale lower case for Cyrillic and Kyrgyz letters, ё as е, spaces collapsed', () => {
  assert.equal(fold('  ҮЙ-БҮЛӨ   Жаңы\nЁЛКА '), 'үй-бүлө жаңы елка');
  assert.equal(fold('ОРУС Тили'), 'орус тили');
  assert.equal(fold(null), '');
  assert.equal(fold('e\u0301'), '\u00e9'); // NFC: a decomposed letter matches the composed one
});

test('the search covers summary, text, name, receipt code and every case-work text', () => {
  const view = letter('a', {
    contents: {
      applicant: { full_name: 'Айгерим Тестова' }, summary: 'Кыскача', text: 'Толук текст', receipt_code: '7K3M9Q',
      case: {
        not_accepted: { reason: 'себеп-1' },
        decisions: [{ decision: 'чечим-2', official: { name: 'Кызматкер-3', position: 'кызмат-4' }, measures_planned: 'план-5' }],
        referrals: [{ outgoing_no: 'чыг-6', contact: 'байланыш-7', note: 'эскертүү-8', feedback: { text: 'жооп-9' } }],
        answers: [{ text: 'жооп-10' }],
        measures: [{ description: 'чара-11', taken_by: 'аткаруучу-12' }],
        closed: { outcome: 'жыйынтык-13' },
      },
    },
  });
  const text = searchText(view);
  for (const word of ['айгерим', 'кыскача', 'толук', '7k3m9q', 'себеп-1', 'чечим-2', 'кызматкер-3', 'кызмат-4', 'план-5', 'чыг-6',
    'байланыш-7', 'эскертүү-8', 'жооп-9', 'жооп-10', 'чара-11', 'аткаруучу-12', 'жыйынтык-13']) {
    assert.ok(text.includes(word), word);
  }
  assert.equal(searchText({ id: 'x', contents: null }), ''); // a director's tablet without contents
  assert.equal(searchText(letter('b', { contents: { summary: 'жалгыз' } })), 'жалгыз');
});

test('a search matches every word, in any order and case, in any of the letter\'s fields', () => {
  const views = [
    letter('money', { contents: { summary: 'Одноклассники ОТБИРАЮТ деньги на обед.', applicant: { full_name: 'Асель Маматова' } } }),
    letter('yo', { contents: { summary: 'Зелёная папка пропала.' } }),
    letter('kg', { contents: { text: 'Мугалим сабакта үй тапшырмасын текшербейт.', receipt_code: 'AB12CD' } }),
    letter('anon', { anonymous: true, contents: { summary: 'Коридордо урушуп жатышат.' } }),
  ];
  const search = (q) => ids(applyFilters(views, { q }, context));
  assert.deepEqual(search('ДЕНЬГИ'), ['money']);
  assert.deepEqual(search('обед отбирают'), ['money']);
  assert.deepEqual(search('маматова'), ['money']);
  assert.deepEqual(search('зеленая'), ['yo']);
  assert.deepEqual(search('ЗЕЛЁНАЯ'), ['yo']);
  assert.deepEqual(search('ҮЙ ТАПШЫРМА'), ['kg']);
  assert.deepEqual(search('ab12cd'), ['kg']);
  assert.deepEqual(search('урушуп'), ['anon']);
  assert.deepEqual(search('деньги урушуп'), []);
  assert.deepEqual(search('обед асель'), ['money']); // words from two fields of one letter
  assert.deepEqual(search('  '), ['money', 'yo', 'kg', 'anon']);
});

test('status, category, urgent and the period received', () => {
  const views = [
    letter('r', { status: 'registered', received_on: '2026-11-02', category: 'bullying', urgent: true }),
    letter('p', { status: 'in_progress', received_on: '2026-11-09', category: 'violence_or_cruelty' }),
    letter('a', { status: 'answered', received_on: '2026-11-10', category: 'bullying' }),
    letter('c', { status: 'closed', received_on: '2026-11-16', category: 'other' }),
    letter('n', { status: 'not_accepted', received_on: '2026-11-20', category: 'other', urgent: true }),
    letter('u', { status: undefined, received_on: '2026-11-19' }), // an older view without a status reads as registered
  ];
  const run = (filters) => ids(applyFilters(views, filters, context));
  assert.deepEqual(run({ status: 'registered' }), ['r', 'u']);
  assert.deepEqual(run({ status: 'not_accepted' }), ['n']);
  assert.deepEqual(run({ category: 'other' }), ['c', 'n']);
  assert.deepEqual(run({ category: 'bullying', status: 'answered' }), ['a']);
  assert.deepEqual(run({ urgent: true }), ['r', 'n']);
  assert.deepEqual(run({ from: '2026-11-09', to: '2026-11-16' }), ['p', 'a', 'c']);
  assert.deepEqual(run({ from: '2026-11-20' }), ['n']);
  assert.deepEqual(run({ to: '2026-11-02' }), ['r']);
  assert.deepEqual(run({ from: '2026-11-17', to: '2026-11-16' }), []);
});

test('overdue and due soon on the working-day calendar; finished letters have no deadline', () => {
  // Five working days: received Mon 9 Nov → due Mon 16 Nov (overdue on Fri 20); received Thu 12 → due
  // Thu 19 (overdue); received Fri 13 → due Fri 20 (due soon, today); received Mon 16 → due Mon 23 (due
  // soon: one working day left); received Wed 18 → due Wed 25 (on time).
  const views = [
    letter('over', { received_on: '2026-11-09', status: 'in_progress' }),
    letter('over2', { received_on: '2026-11-12' }),
    letter('today', { received_on: '2026-11-13' }),
    letter('monday', { received_on: '2026-11-16' }),
    letter('later', { received_on: '2026-11-18' }),
    letter('answered', { received_on: '2026-11-02', status: 'answered' }),
    letter('refused', { received_on: '2026-11-02', status: 'not_accepted' }),
  ];
  assert.deepEqual(ids(applyFilters(views, { deadline: 'overdue' }, context)), ['over', 'over2']);
  assert.deepEqual(ids(applyFilters(views, { deadline: 'due_soon' }, context)), ['today', 'monday']);
  // A day off the admin added moves the due day, so the list follows the calendar of the last pull.
  const withDayOff = { ...MON_TO_FRI, days_off: ['2026-11-17'] };
  assert.deepEqual(ids(applyFilters(views, { deadline: 'overdue' }, { ...context, calendar: withDayOff })), ['over']);
});

test('the next commission day: on or after today, a week later once a meeting is recorded on it', () => {
  assert.equal(nextCommissionDay('2026-11-20'), '2026-11-20'); // Friday: today
  assert.equal(nextCommissionDay('2026-11-18'), '2026-11-20'); // Wednesday → Friday
  assert.equal(nextCommissionDay('2026-11-21'), '2026-11-27'); // Saturday → next Friday
  assert.equal(nextCommissionDay('2026-11-20', 4, [{ held_on: '2026-11-20' }]), '2026-11-27');
  assert.equal(nextCommissionDay('2026-11-20', 4, [{ held_on: '2026-11-19' }]), '2026-11-20');
  assert.equal(nextCommissionDay('2026-11-20', 0), '2026-11-23'); // a school meeting on Mondays
  assert.equal(nextCommissionDay('2026-12-30', 4), '2027-01-01');
});

test('the agenda filter: letters since the last meeting and open cases, as the meeting form lists them', () => {
  const views = [
    letter('old-open', { received_on: '2026-11-02', status: 'in_progress' }),
    letter('old-closed', { received_on: '2026-11-03', status: 'closed' }),
    letter('old-registered', { received_on: '2026-11-04', status: 'registered' }),
    letter('new', { received_on: '2026-11-16' }),
    letter('refused', { received_on: '2026-11-17', status: 'not_accepted' }),
    letter('no-date', { received_on: '' }),
  ];
  const meetings = [{ held_on: '2026-11-13' }];
  const agenda = nextAgenda(views, meetings, '2026-11-18');
  assert.equal(agenda.day, '2026-11-20');
  assert.deepEqual([...agenda.ids].sort(), ['new', 'old-open', 'old-registered']);
  assert.deepEqual(ids(applyFilters(views, { agenda: true }, { ...context, agenda: agenda.ids })), ['old-open', 'old-registered', 'new']);
  // Held today already: the next agenda is next week's.
  const afterToday = nextAgenda(views, [...meetings, { held_on: '2026-11-20' }], '2026-11-20');
  assert.equal(afterToday.day, '2026-11-27');
  assert.deepEqual([...afterToday.ids].sort(), ['new', 'old-open', 'old-registered']); // open cases stay on it
  // Without the agenda's ids the agenda filter lets nothing through rather than everything.
  assert.deepEqual(applyFilters(views, { agenda: true }, context), []);
});

test('filters combine', () => {
  const views = [
    letter('x', { status: 'answered', category: 'bullying', contents: { summary: 'Телефонду тартып алышты' } }),
    letter('y', { status: 'answered', category: 'bullying', contents: { summary: 'Китепти тартып алышты' } }),
    letter('z', { status: 'registered', category: 'bullying', contents: { summary: 'Телефонду тартып алышты' } }),
  ];
  assert.deepEqual(ids(applyFilters(views, { status: 'answered', category: 'bullying', q: 'телефон' }, context)), ['x']);
});
