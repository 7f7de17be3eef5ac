/**
 * The school's administration (#/admin, #/admin/devices, #/admin/settings; the admin's role): the accounts
 * (create, disable and enable, a new password), the devices (revoke one) and the school's settings (trust
 * phones, the commission and the working group, the working week and the calendar, the cadences, the years
 * a closed case's contents are kept, the idle lock, whether the director reads letters). Online only: the server keeps all of it, the tablet nothing.
 */
import { h, replaceChildren, uid } from '../dom.js';
import { LANGUAGES, t, term, formatDate, formatNumber } from '../i18n.js';
import { confirmDialog, formDialog } from './dialogs.js';
import { field, formMessage, markBusy, select, toggle } from './fields.js';
import { codeMessage, describeError } from './errors.js';
import { dropDraft, getDraft, saveDraft } from './drafts.js';
import { online, unavailableView } from './dashboard.js';

const TABS = ['users', 'devices', 'settings'];
/** The roles an admin may give (a district's viewer belongs to no school). */
export const STAFF_ROLES = ['pedagogue', 'commission', 'director', 'admin'];
/** The server's minimum (server/services/accounts.py), said in the hint; the server decides. */
const MIN_PASSWORD_LENGTH = 8;
const DRAFT = 'admin:settings';

/** The whole-number settings and their ranges, as sync/schemas.py's SchoolSettingsSchema checks them. */
export const NUMBER_SETTINGS = {
  due_in_days: [1, 30],
  quorum: [1, 10],
  collection_every_days: [1, 60],
  act_every_days: [1, 92],
  idle_lock_minutes: [1, 120],
  retention_years: [1, 50],
};
/** The list settings: their columns (none for a list of dates) and how many rows the server takes. */
export const LIST_SETTINGS = {
  trust_phones: { columns: ['label', 'phone'], max: 10 },
  commission_members: { columns: ['name', 'position'], max: 10 },
  working_group: { columns: ['name', 'position'], max: 10 },
  days_off: { columns: null, max: 400 },
  working_days: { columns: null, max: 400 },
};
const COLUMN_LIMITS = { label: 100, phone: 40, name: 200, position: 200 };
const DATE = /^\d{4}-\d{2}-\d{2}$/;

// ---- Pure parts (tests/js/admin.test.mjs) ---------------------------------------------------------------

/** JSON with the keys of every object sorted, so two equal settings compare equal whatever their key order. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** A list of dates as the server keeps it best: sorted, each once. */
export function dateList(dates) {
  return [...new Set((dates ?? []).filter(Boolean))].sort();
}

/**
 * What the form changes of the loaded settings: only those keys, so a setting never touched keeps following
 * its default (the server stores what it is sent). Date lists compare as sets.
 * @param {object} loaded the server's settings
 * @param {object} edited the form's values (every key)
 * @returns {object} the keys to PATCH, maybe none
 */
export function settingsChanges(loaded, edited) {
  const changes = {};
  for (const [key, typed] of Object.entries(edited)) {
    const isDates = LIST_SETTINGS[key] && !LIST_SETTINGS[key].columns;
    const [before, value] = isDates ? [dateList(loaded[key]), dateList(typed)] : [loaded[key], typed];
    if (canonical(before) !== canonical(value)) changes[key] = value;
  }
  return changes;
}

/**
 * A whole number typed in a field: the number, null when empty, or the text itself (the server refuses it
 * and the field is marked).
 * @param {string} text
 */
export function wholeNumber(text) {
  const trimmed = String(text ?? '').trim();
  if (trimmed === '') return null;
  return /^-?\d{1,9}$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/**
 * The server's 422 `fields` as the places to mark: `quorum`, `trust_phones` (the list as a whole),
 * `trust_phones.0` (a row), `trust_phones.0.phone` (a cell); anything the form has no place for under `_form`.
 * @param {object} fields e.g. {quorum: [...], trust_phones: {0: {phone: [...]}}, days_off: {1: [...]}}
 * @returns {Set<string>}
 */
export function problemPlaces(fields) {
  const places = new Set();
  for (const [key, problem] of Object.entries(fields ?? {})) {
    const list = LIST_SETTINGS[key];
    if (!list) {
      places.add(key === 'name' || key === 'director_reads_contents' || key === 'week' || key === 'commission_day'
        || NUMBER_SETTINGS[key] ? key : '_form');
      continue;
    }
    if (Array.isArray(problem) || !problem || typeof problem !== 'object') {
      places.add(key);
      continue;
    }
    for (const [index, inner] of Object.entries(problem)) {
      if (!/^\d+$/.test(index)) {
        places.add(key);
      } else if (list.columns && inner && !Array.isArray(inner) && typeof inner === 'object') {
        for (const column of Object.keys(inner)) places.add(list.columns.includes(column) ? `${key}.${index}.${column}` : `${key}.${index}`);
      } else {
        places.add(`${key}.${index}`);
      }
    }
  }
  return places;
}

/** The words for a marked place, in the user's language (the server's English stays unshown). */
export function problemText(key, value) {
  if (NUMBER_SETTINGS[key]) {
    const [min, max] = NUMBER_SETTINGS[key];
    return t('admin.error_range', { min: formatNumber(min), max: formatNumber(max) });
  }
  if (value === null || value === undefined || String(value).trim() === '') return t('form.error_required');
  return t('form.error_invalid');
}

// ---- The frame ------------------------------------------------------------------------------------------

function tabs(current) {
  return h('nav', { class: 'admin-tabs segmented', 'aria-label': t('admin.tabs') },
    TABS.map((tab) => h('a', {
      class: 'segment', href: tab === 'users' ? '#/admin' : `#/admin/${tab}`, 'aria-current': tab === current ? 'page' : false,
      'data-tab': tab,
    }, t(`admin.tab_${tab}`))));
}

/**
 * @param {object} app
 * @param {{tab?: string}} params
 * @returns {Promise<HTMLElement>}
 */
export async function render(app, { tab } = {}) {
  const current = TABS.includes(tab) ? tab : 'users';
  const token = app.session?.token;
  let body;
  try {
    body = await online(() => SECTIONS[current](app, token));
  } catch (error) {
    const view = unavailableView(t('admin.title'), error, t('admin.needs_network'), () => app.navigate(location.hash));
    view.classList.add('admin');
    view.querySelector('h1').after(tabs(current));
    return view;
  }
  return h('section', { class: 'screen screen-wide admin' },
    h('h1', null, t('admin.title')),
    h('p', { class: 'lead' }, t('admin.intro')),
    tabs(current),
    body);
}

const SECTIONS = { users: usersSection, devices: devicesSection, settings: settingsSection };

/** A table that scrolls sideways on a narrow screen rather than squeezing its columns. */
function table(className, headings, rows) {
  return h('div', { class: 'table-scroll' },
    h('table', { class: ['admin-table', className] },
      h('thead', null, h('tr', null, headings.map((text) => h('th', { scope: 'col' }, text)))),
      h('tbody', null, rows)));
}

/** Run an action on the server from a button: busy meanwhile, the answer worded in `message`. */
async function act(button, message, call) {
  const restore = markBusy(button, t('admin.working'));
  message.hide();
  try {
    return await online(call);
  } catch (error) {
    restore();
    message.show(describeError(error));
    return undefined;
  }
}

// ---- Accounts -----------------------------------------------------------------------------------------

async function usersSection(app, token) {
  const { users } = await app.api.adminUsers(token);
  const ownId = app.session?.user?.id;
  const message = formMessage();
  const list = h('div', { class: 'admin-users' });

  const reload = async (notice) => {
    try {
      const fresh = await online(() => app.api.adminUsers(token));
      list.replaceChildren(usersTable(fresh.users));
      if (notice) message.show(notice, 'success');
    } catch (error) {
      message.show(describeError(error));
    }
  };

  function userRow(user) {
    const own = user.id === ownId;
    const disabled = Boolean(user.disabled_at);
    const toggleButton = !own && h('button', {
      type: 'button', class: ['button', 'button-small', disabled ? 'button-secondary' : 'button-danger-outline'],
      'data-action': disabled ? 'enable' : 'disable',
      onclick: async (event) => {
        const done = await act(event.currentTarget, message,
          () => (disabled ? app.api.enableUser(token, user.id) : app.api.disableUser(token, user.id)));
        if (done) reload(t(disabled ? 'admin.user_enabled' : 'admin.user_disabled', { name: user.full_name }));
      },
    }, disabled ? t('admin.enable') : t('admin.disable'));
    const resetButton = h('button', {
      type: 'button', class: 'button button-small button-secondary', 'data-action': 'password',
      onclick: async () => {
        if (await passwordDialog(app, token, user)) message.show(t('admin.password_reset', { name: user.full_name }), 'success');
      },
    }, t('admin.reset_password'));
    return h('tr', { class: ['user-row', disabled && 'is-disabled'], dataset: { user: user.id, username: user.username } },
      h('td', null, h('strong', null, user.full_name), own && h('span', { class: 'chip' }, t('admin.you'))),
      h('td', { class: 'cell-username' }, user.username),
      h('td', null, term('user_role', user.role)),
      h('td', { class: 'cell-state' }, disabled
        ? h('span', { class: 'chip chip-attention' }, t('admin.disabled_since', { date: formatDate(user.disabled_at, 'numeric') }))
        : t('admin.active')),
      h('td', { class: 'cell-actions' }, h('div', { class: 'button-row' }, toggleButton, resetButton)));
  }

  function usersTable(rows) {
    return table('users-table',
      [t('admin.col_name'), t('admin.col_username'), t('admin.col_role'), t('admin.col_state'), t('admin.col_actions')],
      rows.map(userRow));
  }

  list.append(usersTable(users));
  return h('div', { class: 'admin-section' },
    h('section', { class: 'card', 'aria-labelledby': 'admin-users-title' },
      h('h2', { id: 'admin-users-title' }, t('admin.users_title')),
      message,
      list),
    newUserForm(app, token, (user) => reload(t('admin.user_created', { name: user.full_name, username: user.username }))));
}

function newUserForm(app, token, onCreated) {
  const controls = {
    full_name: h('input', { type: 'text', name: 'full_name', autocomplete: 'off', maxlength: 200, required: true }),
    username: h('input', { type: 'text', name: 'username', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: 100, required: true }),
    role: select({ name: 'role', options: STAFF_ROLES.map((role) => [role, term('user_role', role)]), placeholder: t('form.choose'), required: true }),
    password: h('input', { type: 'password', name: 'password', autocomplete: 'new-password', minlength: MIN_PASSWORD_LENGTH, required: true }),
  };
  const fields = {
    full_name: field({ label: t('admin.field_full_name'), control: controls.full_name, required: true }),
    username: field({ label: t('admin.field_username'), control: controls.username, hint: t('admin.field_username_hint'), required: true }),
    role: field({ label: t('admin.field_role'), control: controls.role, required: true }),
    password: field({ label: t('admin.field_password'), control: controls.password, required: true,
      hint: t('admin.password_hint', { min: MIN_PASSWORD_LENGTH }) }),
  };
  const message = formMessage();
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, t('admin.create_user'));
  const form = h('form', { class: 'form new-user-form', novalidate: true, 'aria-labelledby': 'admin-new-user-title' },
    h('h2', { id: 'admin-new-user-title' }, t('admin.new_user_title')),
    h('div', { class: 'form-grid admin-grid' }, Object.values(fields)),
    message,
    h('div', { class: 'button-row form-actions' }, submit));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hide();
    const values = Object.fromEntries(Object.entries(controls).map(([name, control]) => [name,
      name === 'password' ? control.value : control.value.trim()]));
    let missing = false;
    for (const [name, wrapper] of Object.entries(fields)) {
      wrapper.setError(values[name] ? null : t('form.error_required'));
      missing ||= !values[name];
    }
    if (missing) {
      message.show(t('form.fix_errors'));
      return;
    }
    const restore = markBusy(submit, t('form.saving'));
    try {
      const user = await online(() => app.api.createUser(token, values));
      restore();
      form.reset();
      onCreated(user);
    } catch (error) {
      restore();
      const place = { username_taken: 'username', password_too_short: 'password' }[error.code];
      if (place) {
        fields[place].setError(place === 'password' ? t('admin.password_hint', { min: MIN_PASSWORD_LENGTH }) : codeMessage(error.code));
        message.show(t('form.fix_errors'));
      } else if (error.status === 422 && error.body?.fields) {
        for (const name of Object.keys(error.body.fields)) fields[name]?.setError(problemText(name, values[name]));
        message.show(t('form.fix_errors'));
      } else {
        message.show(describeError(error));
      }
    }
  });
  return h('section', { class: 'card' }, form);
}

/** A new password for `user`, set from a dialog that says what it does; true when it was set. */
function passwordDialog(app, token, user) {
  return formDialog({
    title: t('admin.reset_title', { name: user.full_name }),
    className: 'password-dialog',
    build(close) {
      const input = h('input', { type: 'password', name: 'new-password', autocomplete: 'new-password', minlength: MIN_PASSWORD_LENGTH, required: true });
      const wrapper = field({ label: t('admin.new_password'), control: input, hint: t('admin.password_hint', { min: MIN_PASSWORD_LENGTH }) });
      const message = formMessage();
      const submit = h('button', { type: 'submit', class: 'button button-danger' }, t('admin.reset_confirm'));
      const form = h('form', { class: 'form', novalidate: true },
        h('p', null, t('admin.reset_body')),
        wrapper, message,
        h('div', { class: 'button-row' },
          h('button', { type: 'button', class: 'button button-secondary', onclick: () => close(false) }, t('common.cancel')),
          submit));
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        message.hide();
        if (input.value.length < MIN_PASSWORD_LENGTH) {
          wrapper.setError(t('admin.password_hint', { min: MIN_PASSWORD_LENGTH }));
          return;
        }
        wrapper.setError(null);
        const restore = markBusy(submit, t('admin.working'));
        try {
          await online(() => app.api.resetPassword(token, user.id, input.value));
          close(true);
        } catch (error) {
          restore();
          if (error.code === 'password_too_short') wrapper.setError(t('admin.password_hint', { min: MIN_PASSWORD_LENGTH }));
          else message.show(describeError(error));
        }
      });
      queueMicrotask(() => input.focus());
      return [form];
    },
  });
}

// ---- Devices --------------------------------------------------------------------------------------------

async function devicesSection(app, token) {
  const { devices } = await app.api.adminDevices(token);
  const ownDevice = app.session?.device_id;
  const message = formMessage();
  const list = h('div', { class: 'admin-devices' });

  const reload = async (notice) => {
    try {
      const fresh = await online(() => app.api.adminDevices(token));
      list.replaceChildren(devicesTable(fresh.devices));
      if (notice) message.show(notice, 'success');
    } catch (error) {
      message.show(describeError(error));
    }
  };

  function state(device) {
    if (device.revoked_at) return h('span', { class: 'chip chip-attention' }, t('admin.device_revoked', { date: formatDate(device.revoked_at, 'numeric') }));
    if (new Date(device.expires_at).getTime() <= Date.now()) return h('span', { class: 'chip chip-pending' }, t('admin.device_expired'));
    return t('admin.device_active');
  }

  function deviceRow(device) {
    const own = device.id === ownDevice;
    const revoke = !device.revoked_at && h('button', {
      type: 'button', class: 'button button-small button-danger-outline', 'data-action': 'revoke',
      onclick: async (event) => {
        const button = event.currentTarget;
        const confirmed = await confirmDialog({
          title: t('admin.revoke_title', { name: device.name }),
          body: [t('admin.revoke_body', { user: device.user?.full_name ?? '' }), own && t('admin.revoke_own')].filter(Boolean),
          confirm: t('admin.revoke'),
          danger: true,
        });
        if (!confirmed) return;
        const done = await act(button, message, () => app.api.revokeDevice(token, device.id));
        if (done) reload(t('admin.device_revoked_done', { name: device.name }));
      },
    }, t('admin.revoke'));
    return h('tr', { class: ['device-row', device.revoked_at && 'is-revoked'], dataset: { device: device.id } },
      h('td', null, h('strong', null, device.name), own && h('span', { class: 'chip' }, t('admin.this_device'))),
      h('td', null, device.user?.full_name ?? ''),
      h('td', { class: 'cell-date' }, formatDate(device.created_at, 'numeric')),
      h('td', { class: 'cell-date' }, formatDate(device.expires_at, 'numeric')),
      h('td', { class: 'cell-state' }, state(device)),
      h('td', { class: 'cell-actions' }, revoke));
  }

  function devicesTable(rows) {
    if (rows.length === 0) return h('p', { class: 'muted' }, t('admin.no_devices'));
    return table('devices-table',
      [t('admin.col_device'), t('admin.col_user'), t('admin.col_created'), t('admin.col_expires'), t('admin.col_state'), t('admin.col_actions')],
      rows.map(deviceRow));
  }

  list.append(devicesTable(devices));
  return h('section', { class: 'card admin-section', 'aria-labelledby': 'admin-devices-title' },
    h('h2', { id: 'admin-devices-title' }, t('admin.devices_title')),
    h('p', { class: 'muted' }, t('admin.devices_intro')),
    message,
    list);
}

// ---- Settings -------------------------------------------------------------------------------------------

/**
 * Editable rows of a list setting: a row per person, phone or date, a button to remove it and one to add.
 * @returns {{element: HTMLElement, read: () => object[], mark: (places: Set<string>, sent: object[]) => void, clear: () => void}}
 */
function rowList(key, values, onChange) {
  const { columns, max } = LIST_SETTINGS[key];
  const rows = [];
  const container = h('div', { class: 'setting-rows' });
  const error = h('p', { class: 'field-error', id: uid(`${key}-error`), 'aria-live': 'polite' });
  const add = h('button', { type: 'button', class: 'button button-small button-secondary', 'data-add': key }, t(`admin.add_${key}`));

  function addRow(value) {
    const inputs = columns
      ? columns.map((column) => h('input', { type: 'text', name: `${key}-${column}`, value: value?.[column] ?? '', autocomplete: 'off',
        maxlength: COLUMN_LIMITS[column], 'aria-label': t(`admin.column_${column}`), placeholder: t(`admin.column_${column}`) }))
      : [h('input', { type: 'date', name: key, value: value ?? '', 'aria-label': t(`admin.setting_${key}`) })];
    const rowError = h('p', { class: 'field-error' });
    const row = {
      inputs,
      element: null,
      read: () => (columns
        ? Object.fromEntries(columns.map((column, i) => [column, inputs[i].value.trim()]))
        : inputs[0].value),
      blank: () => inputs.every((input) => input.value.trim() === ''),
      setError(text, column) {
        rowError.textContent = text || '';
        for (const [i, input] of inputs.entries()) input.toggleAttribute('aria-invalid', Boolean(text) && (!column || columns?.[i] === column));
        row.element.classList.toggle('has-error', Boolean(text));
      },
    };
    const remove = h('button', { type: 'button', class: 'button button-small button-secondary row-remove', 'aria-label': t('admin.remove_row') }, '×');
    row.element = h('div', { class: ['setting-row', columns ? 'setting-row-pair' : 'setting-row-date'] }, inputs, remove, rowError);
    remove.addEventListener('click', () => {
      rows.splice(rows.indexOf(row), 1);
      row.element.remove();
      refresh();
      onChange();
      (rows.at(-1)?.inputs[0] ?? add).focus();
    });
    rows.push(row);
    container.append(row.element);
    refresh();
    return row;
  }

  function refresh() {
    add.disabled = rows.length >= max;
  }

  add.addEventListener('click', () => {
    addRow(null).inputs[0].focus();
    onChange();
  });
  for (const value of values ?? []) addRow(value);
  if (rows.length === 0) addRow(null);

  const element = h('div', { class: 'field setting-list', 'data-setting': key, role: 'group', 'aria-labelledby': `admin-${key}-label` },
    h('p', { class: 'setting-list-label', id: `admin-${key}-label` }, t(`admin.setting_${key}`)),
    h('p', { class: 'field-hint' }, t(`admin.setting_${key}_hint`)),
    container, error, add);

  return {
    element,
    /** The filled rows, each with its row, in the order sent (dates sorted, each once). */
    entries() {
      const filled = rows.filter((row) => !row.blank()).map((row) => ({ row, value: row.read() }));
      if (columns) return filled;
      const seen = new Set();
      return filled.filter(({ value }) => (seen.has(value) ? false : seen.add(value)))
        .sort((a, b) => a.value.localeCompare(b.value));
    },
    read() {
      return this.entries().map(({ value }) => value);
    },
    clear() {
      error.textContent = '';
      element.classList.remove('has-error');
      for (const row of rows) row.setError(null);
    },
    mark(places, sent) {
      if (places.has(key)) {
        error.textContent = t('admin.error_list', { max: formatNumber(max) });
        element.classList.add('has-error');
      }
      for (const [index, { row, value }] of sent.entries()) {
        const cell = columns?.find((column) => places.has(`${key}.${index}.${column}`));
        if (cell) row.setError(problemText(cell, value[cell]), cell);
        else if (places.has(`${key}.${index}`)) row.setError(columns ? t('admin.error_row') : t('form.error_invalid'));
      }
    },
  };
}

function numberControl(key, value) {
  const [min, max] = NUMBER_SETTINGS[key];
  return h('input', { type: 'number', name: key, min, max, step: 1, inputmode: 'numeric', class: 'input-short', value: value ?? '' });
}

/** The form's values from what was loaded, or from a draft kept while the tablet was locked. */
function settingsForm(app, token, loaded, onSaved) {
  const draft = getDraft(DRAFT);
  const start = draft?.dirty ? { ...loaded, ...draft.values } : loaded;
  const keep = () => saveDraft(DRAFT, read(), Object.keys(settingsChanges(loaded, read())).length > 0);

  const controls = {
    name: h('input', { type: 'text', name: 'name', value: start.name ?? '', maxlength: 200, autocomplete: 'off' }),
    week: select({ name: 'week', options: [5, 6].map((n) => [String(n), t(`admin.week_${n}`)]), value: String(start.week ?? 5) }),
    commission_day: select({ name: 'commission_day', options: [0, 1, 2, 3, 4, 5, 6].map((d) => [String(d), t(`admin.weekday_${d}`)]),
      value: String(start.commission_day ?? 4) }),
    ...Object.fromEntries(Object.keys(NUMBER_SETTINGS).map((key) => [key, numberControl(key, start[key])])),
  };
  const fields = Object.fromEntries(Object.entries(controls).map(([key, control]) => [key,
    field({ label: t(`admin.setting_${key}`), control, hint: t(`admin.setting_${key}_hint`) })]));
  const reads = toggle({ name: 'director_reads_contents', label: t('admin.setting_director_reads_contents'),
    checked: Boolean(start.director_reads_contents), hint: t('admin.setting_director_reads_contents_hint') });
  const offered = start.languages ?? LANGUAGES;
  const languages = LANGUAGES.map((lang) => [lang, toggle({ name: `language_${lang}`, label: t(`language.${lang}`),
    checked: offered.includes(lang) })]);
  const lists = Object.fromEntries(Object.keys(LIST_SETTINGS).map((key) => [key, rowList(key, start[key], () => keep())]));

  function read() {
    return {
      name: controls.name.value.trim(),
      director_reads_contents: reads.control.checked,
      week: Number(controls.week.value),
      commission_day: Number(controls.commission_day.value),
      ...Object.fromEntries(Object.keys(NUMBER_SETTINGS).map((key) => [key, wholeNumber(controls[key].value)])),
      ...Object.fromEntries(Object.entries(lists).map(([key, list]) => [key, list.read()])),
      languages: languages.filter(([, box]) => box.control.checked).map(([lang]) => lang),
    };
  }

  const message = formMessage();
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, t('admin.save_settings'));
  const discard = draft?.dirty && h('button', {
    type: 'button', class: 'button button-secondary',
    onclick: () => {
      dropDraft(DRAFT);
      onSaved(loaded, null);
    },
  }, t('form.discard'));
  const group = (titleKey, ...children) => h('fieldset', { class: 'card settings-group' }, h('legend', null, t(titleKey)), children);
  const form = h('form', { class: 'admin-settings-form', novalidate: true },
    draft?.dirty && h('p', { class: 'form-message form-message-info', role: 'status' }, t('form.draft_restored')),
    group('admin.group_school', fields.name, lists.trust_phones.element),
    group('admin.group_commission', lists.commission_members.element,
      h('div', { class: 'form-grid admin-grid' }, fields.quorum, fields.commission_day),
      lists.working_group.element),
    group('admin.group_calendar',
      h('div', { class: 'form-grid admin-grid' }, fields.week, fields.due_in_days),
      h('div', { class: 'form-grid admin-grid' }, lists.days_off.element, lists.working_days.element)),
    group('admin.group_cadence',
      h('div', { class: 'form-grid admin-grid' }, fields.collection_every_days, fields.act_every_days)),
    group('admin.group_retention', fields.retention_years),
    group('admin.group_tablets', fields.idle_lock_minutes, reads,
      h('fieldset', { class: 'admin-languages' }, h('legend', null, t('admin.setting_languages')),
        languages.map(([, box]) => box))),
    message,
    h('div', { class: 'button-row form-actions' }, discard, submit));
  form.addEventListener('input', keep);
  form.addEventListener('change', keep);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hide();
    for (const wrapper of Object.values(fields)) wrapper.setError(null);
    for (const list of Object.values(lists)) list.clear();
    const values = read();
    const sent = Object.fromEntries(Object.entries(lists).map(([key, list]) => [key, list.entries()]));
    const changes = settingsChanges(loaded, values);
    if (Object.keys(changes).length === 0) {
      message.show(t('admin.settings_unchanged'), 'info');
      return;
    }
    const restore = markBusy(submit, t('form.saving'));
    try {
      const answer = await online(() => app.api.patchSettings(token, changes));
      dropDraft(DRAFT);
      onSaved(answer.settings, t('admin.settings_saved'));
      await refreshOwnSession(app, token);
    } catch (error) {
      restore();
      if (error.status === 422 && error.body?.fields) {
        const places = problemPlaces(error.body.fields);
        for (const [key, wrapper] of Object.entries(fields)) if (places.has(key)) wrapper.setError(problemText(key, values[key]));
        for (const [key, list] of Object.entries(lists)) list.mark(places, sent[key]);
        message.show(places.has('_form') || places.has('director_reads_contents') ? describeError(error) : t('form.fix_errors'));
        form.querySelector('[aria-invalid], .has-error input')?.focus();
      } else {
        message.show(describeError(error));
      }
    }
  });
  return form;
}

/**
 * The admin's own tablet keeps the school's settings in its session. The sync loop refreshes them from /me
 * after a pull, but an admin reads no journal (the pull answers 403), so it never gets there: ask /me here.
 * The stored session is what the forms read at once; the header's name and the idle lock take it at the next
 * unlock. A failure is not the save's: the next login brings the settings anyway.
 */
async function refreshOwnSession(app, token) {
  try {
    const me = await app.api.me(token);
    const latest = app.session;
    if (!latest || latest.token !== token) return; // logged out or in again meanwhile
    await app.saveSession({ ...latest, school: me.school, user: { ...latest.user, ...me.user } });
  } catch {
    // Offline or locked in the meantime.
  }
}

async function settingsSection(app, token) {
  const { settings } = await app.api.adminSettings(token);
  const holder = h('div', { class: 'admin-section admin-settings' });
  const show = (loaded, notice) => {
    const form = settingsForm(app, token, loaded, show);
    replaceChildren(holder,
      notice && h('p', { class: 'form-message form-message-success', role: 'status' }, notice),
      form);
    if (notice) holder.scrollIntoView({ block: 'start' });
  };
  show(settings, null);
  return h('div', null, h('p', { class: 'muted' }, t('admin.settings_intro')), holder);
}
