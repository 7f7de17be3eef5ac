/**
 * #/admin/settings: the school's settings as one form — the name and the trust phones; the commission's
 * members, quorum and day, and the working group; the working week, the days to answer and the calendar's
 * extra days off and transferred working days; the cadences of collection and acts; the years a closed
 * case's contents are kept; the idle lock, whether the director reads letters, the languages offered. A
 * list is edited as rows. A save PATCHes only what changed and a 422 marks the fields, rows and cells it
 * names (admin-values.js); typed settings are a draft kept across the lock. Online only.
 */
import { h, replaceChildren, uid } from '../dom.js';
import { LANGUAGES, t, formatNumber } from '../i18n.js';
import { WEEKS } from '../vocabulary.js';
import { field, formMessage, markBusy, select, toggle } from './fields.js';
import { describeError } from './errors.js';
import { dropDraft, getDraft, saveDraft } from './drafts.js';
import { online } from './dashboard.js';
import {
  COMMISSION_DAYS, LIST_SETTINGS, NUMBER_SETTINGS, problemPlaces, problemText, settingsChanges, wholeNumber,
} from './admin-values.js';

const DRAFT = 'admin:settings';
/** The server's (server/api/admin.py); the spec bounds no school's name. */
const SCHOOL_NAME_LENGTH = 200;

/**
 * Editable rows of a list setting: a row per person, phone or date, a button to remove it and one to add.
 * @returns {{element: HTMLElement, read: () => object[], mark: (places: Set<string>, sent: object[]) => void, clear: () => void}}
 */
function rowList(key, values, onChange) {
  const { columns: lengths, max } = LIST_SETTINGS[key];
  const columns = lengths && Object.keys(lengths);
  const rows = [];
  const container = h('div', { class: 'setting-rows' });
  const error = h('p', { class: 'field-error', id: uid(`${key}-error`), 'aria-live': 'polite' });
  const add = h('button', { type: 'button', class: 'button button-small button-secondary', 'data-add': key }, t(`admin.add_${key}`));

  function addRow(value) {
    const inputs = columns
      ? columns.map((column) => h('input', { type: 'text', name: `${key}-${column}`, value: value?.[column] ?? '', autocomplete: 'off',
        maxlength: lengths[column], 'aria-label': t(`admin.column_${column}`), placeholder: t(`admin.column_${column}`) }))
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
    name: h('input', { type: 'text', name: 'name', value: start.name ?? '', maxlength: SCHOOL_NAME_LENGTH, autocomplete: 'off' }),
    week: select({ name: 'week', options: WEEKS.map((n) => [String(n), t(`admin.week_${n}`)]), value: String(start.week ?? 5) }),
    commission_day: select({ name: 'commission_day', options: COMMISSION_DAYS.map((d) => [String(d), t(`admin.weekday_${d}`)]),
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

/** The settings as the server has them, in a form that is drawn anew from what each save answers. */
export async function settingsSection(app, token) {
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
