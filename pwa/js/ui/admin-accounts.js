/**
 * #/admin (the accounts) and #/admin/devices: the school's accounts — create one with a username, a name,
 * a role of the school's staff and an initial password; disable and enable, never one's own; a new password
 * from a dialog that says every device of the user must log in again; never a director's account, which
 * only the server's command line disables or resets (a note says so) — and the devices — revoke one after a
 * confirmation, with a word when it is this tablet, and re-admit a revoked one (its user then logs in on it
 * again). Online only: the server keeps all of it.
 */
import { h } from '../dom.js';
import { t, term, formatDate } from '../i18n.js';
import { limitsOf, ROLES, SCHOOL_ROLES } from '../vocabulary.js';
import { confirmDialog, formDialog } from './dialogs.js';
import { field, formMessage, markBusy, select } from './fields.js';
import { codeMessage, describeError } from './errors.js';
import { online } from './dashboard.js';
import { problemText } from './admin-values.js';

/** The server's minimum (server/services/accounts.py), said in the hint; the server decides. */
const MIN_PASSWORD_LENGTH = 8;
/** A username is what the login form sends, so it keeps to the login's limit. */
const USERNAME_LENGTH = limitsOf('token_request').username;
/** The server's (server/api/admin.py); the spec bounds no account's name. */
const FULL_NAME_LENGTH = 200;

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

// ---- Accounts ----------------------------------------------------------------------------------------------

/** The school's accounts, and below them the form of a new one. */
export async function usersSection(app, token) {
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
    // The server refuses both for a director (409 director_protected): only its command line may.
    const protectedAccount = user.role === ROLES.DIRECTOR;
    const toggleButton = !own && !protectedAccount && h('button', {
      type: 'button', class: ['button', 'button-small', disabled ? 'button-secondary' : 'button-danger-outline'],
      'data-action': disabled ? 'enable' : 'disable',
      onclick: async (event) => {
        const done = await act(event.currentTarget, message,
          () => (disabled ? app.api.enableUser(token, user.id) : app.api.disableUser(token, user.id)));
        if (done) reload(t(disabled ? 'admin.user_enabled' : 'admin.user_disabled', { name: user.full_name }));
      },
    }, disabled ? t('admin.enable') : t('admin.disable'));
    const resetButton = !protectedAccount && h('button', {
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
      h('td', { class: 'cell-actions' }, protectedAccount
        ? h('p', { class: 'muted small director-note' }, t('admin.director_protected_note'))
        : h('div', { class: 'button-row' }, toggleButton, resetButton)));
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
    full_name: h('input', { type: 'text', name: 'full_name', autocomplete: 'off', maxlength: FULL_NAME_LENGTH, required: true }),
    username: h('input', { type: 'text', name: 'username', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: USERNAME_LENGTH, required: true }),
    role: select({ name: 'role', options: SCHOOL_ROLES.map((role) => [role, term('user_role', role)]), placeholder: t('form.choose'), required: true }),
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

// ---- Devices -----------------------------------------------------------------------------------------------

/** Every device logged in to the school, with the state of its token. */
export async function devicesSection(app, token) {
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
    const readmit = device.revoked_at && h('button', {
      type: 'button', class: 'button button-small button-secondary', 'data-action': 'readmit',
      onclick: async (event) => {
        const button = event.currentTarget;
        const confirmed = await confirmDialog({
          title: t('admin.readmit_title', { name: device.name }),
          body: [t('admin.readmit_body', { user: device.user?.full_name ?? '' })],
          confirm: t('admin.readmit'),
        });
        if (!confirmed) return;
        const done = await act(button, message, () => app.api.readmitDevice(token, device.id));
        if (done) reload(t('admin.device_readmitted_done', { name: device.name }));
      },
    }, t('admin.readmit'));
    return h('tr', { class: ['device-row', device.revoked_at && 'is-revoked'], dataset: { device: device.id } },
      h('td', null, h('strong', null, device.name), own && h('span', { class: 'chip' }, t('admin.this_device'))),
      h('td', null, device.user?.full_name ?? ''),
      h('td', { class: 'cell-date' }, formatDate(device.created_at, 'numeric')),
      h('td', { class: 'cell-date' }, formatDate(device.expires_at, 'numeric')),
      h('td', { class: 'cell-state' }, state(device)),
      h('td', { class: 'cell-actions' }, revoke || readmit));
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
