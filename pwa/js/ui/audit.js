/**
 * The audit (#/audit?kind=…&user=…&from=…&to=…; the director and the admin): the letters opened on a
 * tablet (by default), the deliveries (the letters the server sent in one pull, on demand) and the admin's
 * actions (with each setting's value before → after), each with who, their role and the device; filtered
 * by period (and by user for openings and deliveries), and downloaded as the server's CSV of what is shown.
 * Letters are named by their number only. Online only: nothing of it is kept on the tablet.
 *
 * The rows' words (`rowCells`) are pure, apart from the screen that draws them, so they are tested alone.
 */
import { h } from '../dom.js';
import { t, term, formatDateTime, formatNumber, has } from '../i18n.js';
import { field, formMessage, markBusy, select } from './fields.js';
import { describeError } from './errors.js';
import { online, unavailableView } from './dashboard.js';
import { todayISO } from './format.js';

/** More rows than a tablet draws at ease: the rest are in the CSV, or a narrower period. */
export const SHOWN_ROWS = 500;
/** What the audit shows: its route's `kind`, the server's path, the answer's list. */
export const KINDS = {
  views: { path: 'views', list: 'views', byUser: true },
  deliveries: { path: 'deliveries', list: 'deliveries', byUser: true },
  actions: { path: 'admin-actions', list: 'actions', byUser: false },
};
const DEFAULT_KIND = 'views';
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-fA-F-]{36}$/;

/**
 * The filters in the route's query, each checked (a wrong one is left out rather than sent).
 * @param {string|undefined} query `kind=…&user=…&from=…&to=…`
 * @returns {{kind: string, user: string, from: string, to: string}}
 */
export function parseFilters(query) {
  const params = new URLSearchParams(query || '');
  const kind = params.get('kind') ?? '';
  const user = params.get('user') ?? '';
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const known = Object.hasOwn(KINDS, kind) ? kind : DEFAULT_KIND;
  return {
    kind: known,
    user: KINDS[known].byUser && UUID.test(user) ? user : '',
    from: DATE.test(from) ? from : '',
    to: DATE.test(to) ? to : '',
  };
}

/** The route of a set of filters: `#/audit`, or `#/audit?…` with the ones that have a value. */
export function filtersHash({ kind = DEFAULT_KIND, user = '', from = '', to = '' } = {}) {
  const params = new URLSearchParams();
  if (kind && kind !== DEFAULT_KIND) params.set('kind', kind);
  if (user && KINDS[kind]?.byUser !== false) params.set('user', user);
  if (from) params.set('from', from);
  if (to) params.set('to', to);
  const text = params.toString();
  return text ? `#/audit?${text}` : '#/audit';
}

/** The query the server gets: the filters with a value that this kind takes. */
export function serverQuery({ kind, user, from, to }) {
  return { ...(KINDS[kind]?.byUser && user ? { user } : {}), ...(from ? { from } : {}), ...(to ? { to } : {}) };
}

/** "№ 12 (2024–2025)": the letter's number and its school year, nothing else of it. */
export function letterNumber(entry) {
  return `№ ${entry.serial_no} (${entry.school_year}–${entry.school_year + 1})`;
}

/**
 * The people found in entries (`user`, or `by` of an admin action), each once, by name.
 * @param {object[]} entries
 * @returns {Array<{id: string, full_name: string, role: string}>}
 */
export function readersOf(entries) {
  const byId = new Map();
  for (const entry of entries ?? []) {
    const user = entry.user ?? entry.by;
    if (user?.id && !byId.has(user.id)) byId.set(user.id, user);
  }
  return [...byId.values()].sort((a, b) => a.full_name.localeCompare(b.full_name) || a.id.localeCompare(b.id));
}

/** The CSV's file name: the kind, and the period when there is one, else today's date. */
export function csvName({ kind = DEFAULT_KIND, from = '', to = '' } = {}, today = todayISO()) {
  const name = `ishenim-audit-${kind}`;
  if (from || to) return `${name}-${from || 'start'}-${to || today}.csv`;
  return `${name}-${today}.csv`;
}

/** A setting's value in words: yes/no, a number, a list, or "—" for none. */
export function settingValue(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? t('audit.value_yes') : t('audit.value_no');
  if (typeof value === 'number') return formatNumber(value);
  if (Array.isArray(value)) return value.length ? value.map(settingValue).join('; ') : '—';
  if (typeof value === 'object') return Object.values(value).map(settingValue).join(', ');
  return String(value);
}

/** A setting's name as the settings screen words it, or its code. */
export function settingName(setting) {
  const key = `admin.setting_${setting}`;
  return has(key) ? t(key) : setting;
}

/** "Name (role)", or the server's command line's operator, or "—". */
function person(user, operator = null) {
  if (user?.full_name) return user.full_name;
  if (operator) return t('audit.operator', { operator: String(operator).replace(/^cli:/, '') });
  return '—';
}

function deviceName(device) {
  return device?.name || '—';
}

function target(action) {
  const user = action.target?.user;
  const device = action.target?.device;
  if (user) return `${user.full_name} (${term('user_role', user.role)})`;
  if (device) return t('audit.target_device', { name: device.name });
  return '';
}

/**
 * One row of the table as words, one per column of `columns(kind)`.
 * @param {string} kind 'views' | 'deliveries' | 'actions'
 * @param {object} entry as the server lists it
 * @returns {string[]}
 */
export function rowCells(kind, entry) {
  if (kind === 'views') {
    return [formatDateTime(entry.viewed_at), person(entry.user), term('user_role', entry.user?.role), deviceName(entry.device),
      letterNumber(entry)];
  }
  if (kind === 'deliveries') {
    const letters = entry.letters ?? [];
    return [formatDateTime(entry.delivered_at), person(entry.user), term('user_role', entry.user?.role), deviceName(entry.device),
      `${t('audit.letters_count', { count: formatNumber(letters.length) })}: ${letters.map(letterNumber).join(', ')}`];
  }
  const changes = (entry.changes ?? []).map((change) => t('audit.change', {
    setting: settingName(change.setting), before: settingValue(change.before), after: settingValue(change.after),
  }));
  const action = has(`audit.action_${entry.action}`) ? t(`audit.action_${entry.action}`) : entry.action;
  return [formatDateTime(entry.at), person(entry.by, entry.operator), entry.by ? term('user_role', entry.by.role) : '—',
    deviceName(entry.device), [action, target(entry)].filter(Boolean).join(': '), changes.join('; ')];
}

/** The headings of a kind's table. */
export function columns(kind) {
  const common = [t('audit.col_time'), t('audit.col_user'), t('audit.col_role'), t('audit.col_device')];
  if (kind === 'views') return [...common, t('audit.col_letter')];
  if (kind === 'deliveries') return [...common, t('audit.col_letters')];
  return [...common, t('audit.col_action'), t('audit.col_changes')];
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
 * The entries and the users to filter by: every account of the school for the admin, the people found in
 * the period for the director (who has no list of accounts).
 */
async function load(app, filters) {
  const token = app.session?.token;
  const { kind } = filters;
  const admin = app.session?.user?.role === 'admin';
  const [answer, users] = await Promise.all([
    app.api.audit(token, KINDS[kind].path, serverQuery(filters)),
    admin && KINDS[kind].byUser ? app.api.adminUsers(token).then((r) => r.users) : null,
  ]);
  const entries = answer?.[KINDS[kind].list] ?? [];
  let people = users;
  if (!people && KINDS[kind].byUser) {
    const all = filters.user
      ? (await app.api.audit(token, KINDS[kind].path, serverQuery({ ...filters, user: '' })))?.[KINDS[kind].list] ?? []
      : [];
    people = readersOf([...all, ...entries]);
  }
  return { entries, people: people ?? [] };
}

function kindSwitch(filters) {
  return h('nav', { class: 'segmented audit-kinds', 'aria-label': t('audit.kinds') },
    Object.keys(KINDS).map((kind) => h('a', {
      class: 'segment', href: filtersHash({ ...filters, kind }), 'aria-current': kind === filters.kind ? 'page' : false,
      'data-kind': kind,
    }, t(`audit.kind_${kind}`))));
}

function filtersForm(app, filters, people, problem) {
  const byUser = KINDS[filters.kind].byUser;
  const options = people.map((user) => [user.id, `${user.full_name} (${term('user_role', user.role)})`]);
  if (filters.user && !options.some(([id]) => id === filters.user)) options.push([filters.user, t('audit.unknown_user')]);
  const user = byUser ? select({ name: 'user', options, value: filters.user, placeholder: t('audit.all_users') }) : null;
  const from = h('input', { type: 'date', name: 'from', value: filters.from });
  const to = h('input', { type: 'date', name: 'to', value: filters.to });
  const fields = {
    ...(user ? { user: field({ label: t('audit.field_user'), control: user, className: 'audit-user' }) } : {}),
    from: field({ label: t('audit.field_from'), control: from }),
    to: field({ label: t('audit.field_to'), control: to }),
  };
  if (problem) fields.to.setError(t('audit.error_period'));
  const filtered = filters.user || filters.from || filters.to;
  const form = h('form', { class: 'card audit-filters', novalidate: true, role: 'search', 'aria-label': t('audit.filters') },
    h('div', { class: 'audit-filter-fields' }, Object.values(fields)),
    h('div', { class: 'button-row' },
      h('button', { type: 'submit', class: 'button button-primary' }, t('audit.show')),
      filtered && h('a', { href: filtersHash({ kind: filters.kind }), class: 'button button-secondary' }, t('audit.clear'))));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = {
      kind: filters.kind, user: user?.value ?? '', from: DATE.test(from.value) ? from.value : '', to: DATE.test(to.value) ? to.value : '',
    };
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

function entriesTable(kind, entries) {
  const shown = entries.slice(0, SHOWN_ROWS);
  return h('div', { class: 'table-scroll' },
    h('table', { class: `admin-table audit-table audit-${kind}` },
      h('caption', { class: 'visually-hidden' }, t(`audit.kind_${kind}`)),
      h('thead', null, h('tr', null, columns(kind).map((name) => h('th', { scope: 'col' }, name)))),
      h('tbody', null, shown.map((entry) => h('tr', { class: 'audit-row', dataset: kind === 'actions' ? { action: entry.action } : {} },
        rowCells(kind, entry).map((text, i) => h('td', { class: i === 0 ? 'cell-time' : null }, text)))))));
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
        kindSwitch(filters),
        filtersForm(app, filters, [], true));
    }
    return unavailableView(title, error, t('audit.needs_network'), () => app.navigate(location.hash));
  }
  const { entries, people } = data;
  const message = formMessage();
  const exportButton = h('button', { type: 'button', class: 'button button-secondary', 'data-action': 'export', disabled: entries.length === 0 },
    t('audit.export_csv'));
  exportButton.addEventListener('click', async () => {
    message.hide();
    const restore = markBusy(exportButton, t('audit.exporting'));
    try {
      const blob = await online(() => app.api.auditCsv(app.session?.token, KINDS[filters.kind].path, serverQuery(filters)));
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
        h('p', { class: 'lead' }, t(`audit.intro_${filters.kind}`))),
      h('div', { class: 'title-actions' }, exportButton)),
    kindSwitch(filters),
    filtersForm(app, filters, people, false),
    message,
    h('section', { class: 'card audit-results', 'aria-labelledby': 'audit-count' },
      h('h2', { id: 'audit-count' }, t('audit.count', { count: formatNumber(entries.length) })),
      entries.length === 0
        ? h('p', { class: 'muted empty-note' }, t('audit.none'))
        : [entriesTable(filters.kind, entries),
          entries.length > SHOWN_ROWS && h('p', { class: 'muted small' }, t('audit.more', { shown: formatNumber(SHOWN_ROWS), count: formatNumber(entries.length) }))]));
}
