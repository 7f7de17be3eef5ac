/**
 * The audit trail of reads (#/audit, #/audit?user=…&from=…&to=…; the admin and the director): every letter the
 * server decrypted for someone, as who, which letter (by its number only) and when, newest first; filtered by
 * user and by period, and exported as CSV. Online only: nothing of it is kept on the tablet.
 */
import { h } from '../dom.js';
import { t, term, formatDateTime, formatNumber } from '../i18n.js';
import { field, formMessage, markBusy, select } from './fields.js';
import { describeError } from './errors.js';
import { online, unavailableView } from './dashboard.js';
import { todayISO } from './format.js';

/** More rows than a tablet draws at ease: the rest are in the CSV, or a narrower period. */
export const SHOWN_ROWS = 500;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-fA-F-]{36}$/;

/**
 * The filters in the route's query, each checked (a wrong one is left out rather than sent).
 * @param {string|undefined} query `user=…&from=…&to=…`
 * @returns {{user: string, from: string, to: string}}
 */
export function parseFilters(query) {
  const params = new URLSearchParams(query || '');
  const user = params.get('user') ?? '';
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  return { user: UUID.test(user) ? user : '', from: DATE.test(from) ? from : '', to: DATE.test(to) ? to : '' };
}

/** The route of a set of filters: `#/audit`, or `#/audit?…` with the ones that have a value. */
export function filtersHash({ user = '', from = '', to = '' } = {}) {
  const params = new URLSearchParams();
  if (user) params.set('user', user);
  if (from) params.set('from', from);
  if (to) params.set('to', to);
  const text = params.toString();
  return text ? `#/audit?${text}` : '#/audit';
}

/** "№ 12 (2024–2025)": the letter's number and its school year, nothing else of it. */
export function letterNumber(entry) {
  return `№ ${entry.serial_no} (${entry.school_year}–${entry.school_year + 1})`;
}

/**
 * The readers found in entries, each once, by name.
 * @param {Array<{user: {id: string, full_name: string, role: string}}>} reads
 * @returns {Array<{id: string, full_name: string, role: string}>}
 */
export function readersOf(reads) {
  const byId = new Map();
  for (const { user } of reads ?? []) if (user?.id && !byId.has(user.id)) byId.set(user.id, user);
  return [...byId.values()].sort((a, b) => a.full_name.localeCompare(b.full_name) || a.id.localeCompare(b.id));
}

/** The CSV's file name: the period when there is one, else today's date. */
export function csvName({ from = '', to = '' } = {}, today = todayISO()) {
  if (from || to) return `ishenim-reads-${from || 'start'}-${to || today}.csv`;
  return `ishenim-reads-${today}.csv`;
}

/** Hand a Blob to the browser as a download: an <a download> on a blob: URL, clicked, then let go. */
function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * The entries and the users to filter by: every account of the school for the admin, the readers found in
 * the period for the director (who has no list of accounts).
 */
async function load(app, filters) {
  const token = app.session?.token;
  const admin = app.session?.user?.role === 'admin';
  const [answer, users] = await Promise.all([
    app.api.auditReads(token, filters),
    admin ? app.api.adminUsers(token).then((r) => r.users) : null,
  ]);
  let readers = users;
  if (!readers) {
    readers = filters.user
      ? readersOf([...(await app.api.auditReads(token, { from: filters.from, to: filters.to })).reads, ...answer.reads])
      : readersOf(answer.reads);
  }
  return { reads: answer.reads, readers };
}

function filtersForm(app, filters, readers, problem) {
  const options = readers.map((user) => [user.id, `${user.full_name} (${term('user_role', user.role)})`]);
  if (filters.user && !options.some(([id]) => id === filters.user)) options.push([filters.user, t('audit.unknown_user')]);
  const user = select({ name: 'user', options, value: filters.user, placeholder: t('audit.all_users') });
  const from = h('input', { type: 'date', name: 'from', value: filters.from });
  const to = h('input', { type: 'date', name: 'to', value: filters.to });
  const fields = {
    user: field({ label: t('audit.field_user'), control: user, className: 'audit-user' }),
    from: field({ label: t('audit.field_from'), control: from }),
    to: field({ label: t('audit.field_to'), control: to }),
  };
  if (problem) fields.to.setError(t('audit.error_period'));
  const form = h('form', { class: 'card audit-filters', novalidate: true, role: 'search', 'aria-label': t('audit.filters') },
    h('div', { class: 'audit-filter-fields' }, Object.values(fields)),
    h('div', { class: 'button-row' },
      h('button', { type: 'submit', class: 'button button-primary' }, t('audit.show')),
      (filters.user || filters.from || filters.to) && h('a', { href: '#/audit', class: 'button button-secondary' }, t('audit.clear'))));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = { user: user.value, from: DATE.test(from.value) ? from.value : '', to: DATE.test(to.value) ? to.value : '' };
    if (next.from && next.to && next.from > next.to) {
      fields.to.setError(t('audit.error_period'));
      to.focus();
      return;
    }
    fields.to.setError(null);
    app.navigate(filtersHash(next));
  });
  return form;
}

function readsTable(reads) {
  const shown = reads.slice(0, SHOWN_ROWS);
  return h('div', { class: 'table-scroll' },
    h('table', { class: 'admin-table audit-table' },
      h('caption', { class: 'visually-hidden' }, t('audit.title')),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, t('audit.col_time')),
        h('th', { scope: 'col' }, t('audit.col_user')),
        h('th', { scope: 'col' }, t('audit.col_role')),
        h('th', { scope: 'col' }, t('audit.col_letter')))),
      h('tbody', null, shown.map((entry) => h('tr', { class: 'audit-row' },
        h('td', { class: 'cell-time' }, formatDateTime(entry.read_at)),
        h('td', null, entry.user.full_name),
        h('td', null, term('user_role', entry.user.role)),
        h('td', { class: 'cell-letter' }, letterNumber(entry)))))));
}

/**
 * @param {object} app
 * @param {{query?: string}} params
 * @returns {Promise<HTMLElement>}
 */
export async function render(app, { query } = {}) {
  const filters = parseFilters(query);
  const title = t('audit.title');
  let data;
  try {
    data = await online(() => load(app, filters));
  } catch (error) {
    // A period that ends before it begins (typed into the address): the form, with the period marked.
    if (error.status === 422 && error.body?.fields?.to) {
      return h('section', { class: 'screen screen-wide audit' },
        h('h1', null, title),
        filtersForm(app, filters, [], true));
    }
    return unavailableView(title, error, t('audit.needs_network'), () => app.navigate(location.hash));
  }
  const { reads, readers } = data;
  const message = formMessage();
  const exportButton = h('button', { type: 'button', class: 'button button-secondary', 'data-action': 'export', disabled: reads.length === 0 },
    t('audit.export_csv'));
  exportButton.addEventListener('click', async () => {
    message.hide();
    const restore = markBusy(exportButton, t('audit.exporting'));
    try {
      const blob = await online(() => app.api.auditCsv(app.session?.token, filters));
      download(blob, csvName(filters));
    } catch (error) {
      message.show(describeError(error));
    } finally {
      restore();
    }
  });
  return h('section', { class: 'screen screen-wide audit' },
    h('div', { class: 'screen-title-row' },
      h('div', null,
        h('h1', null, title),
        h('p', { class: 'lead' }, t('audit.intro'))),
      h('div', { class: 'title-actions' }, exportButton)),
    filtersForm(app, filters, readers, false),
    message,
    h('section', { class: 'card audit-results', 'aria-labelledby': 'audit-count' },
      h('h2', { id: 'audit-count' }, t('audit.count', { count: formatNumber(reads.length) })),
      reads.length === 0
        ? h('p', { class: 'muted empty-note' }, t('audit.none'))
        : [readsTable(reads),
          reads.length > SHOWN_ROWS && h('p', { class: 'muted small' }, t('audit.more', { shown: formatNumber(SHOWN_ROWS), count: formatNumber(reads.length) }))]));
}
