/**
 * The frame around every screen: the header with navigation and the Lock button, the sync status line,
 * the banners (offline, update, progress), and the <main> the router fills.
 */
import { h, clear, replaceChildren } from '../dom.js';
import { t, formatDateTime, formatNumber } from '../i18n.js';

const NAV = [
  { hash: '#/journal', key: 'nav.journal', match: ['journal', 'letter', 'amend'] },
  { hash: '#/new', key: 'nav.new_letter', match: ['new'], roles: ['pedagogue'] },
  { hash: '#/openings', key: 'nav.openings', match: ['openings', 'opening', 'opening-new'] },
  { hash: '#/meetings', key: 'nav.meetings', match: ['meetings', 'meeting', 'meeting-new'] },
  { hash: '#/dashboard', key: 'dashboard.nav', match: ['dashboard'], roles: ['director', 'admin', 'commission'] },
  { hash: '#/report', key: 'report.nav', match: ['report'], roles: ['director', 'admin', 'commission', 'pedagogue'] },
  { hash: '#/admin', key: 'admin.nav', match: ['admin'], roles: ['admin'] },
  { hash: '#/audit', key: 'audit.nav', match: ['audit'], roles: ['admin', 'director'] },
  { hash: '#/attention', key: 'nav.attention', match: ['attention', 'resend'] },
  { hash: '#/settings', key: 'nav.settings', match: ['settings'] },
];

/**
 * Build the shell inside `root`.
 * @param {HTMLElement} root
 * @param {{onLock: () => void, onSyncNow: () => void}} actions
 */
export function createShell(root, { onLock, onSyncNow }) {
  const header = h('header', { class: 'app-header' });
  const banners = h('div', { class: 'banners', 'aria-live': 'polite' });
  const main = h('main', { id: 'main', class: 'app-main', tabindex: '-1' });
  const skip = h('a', { class: 'skip-link', href: '#main' });
  replaceChildren(root, skip, header, banners, main);

  const state = {
    mode: 'public', // 'public' (login, passphrase, unlock) or 'app'
    route: '',
    sync: { online: navigator.onLine, pending: 0, lastSync: null, phase: 'idle', sent: 0, total: 0 },
    attention: 0,
    update: null, // null | {waitingForSave: boolean, accepted: boolean, onAccept}
    schoolName: '',
    role: null, // the user's role: the navigation offers only what it may do
  };
  skip.addEventListener('click', (event) => {
    event.preventDefault();
    main.focus();
  });

  function renderHeader() {
    skip.textContent = t('shell.skip_to_content');
    const brand = h('div', { class: 'brand' },
      h('img', { src: 'icons/icon-192.png', alt: '', width: 40, height: 40, class: 'brand-icon' }),
      h('div', { class: 'brand-text' },
        h('span', { class: 'brand-name' }, t('app.short_name')),
        state.schoolName && state.mode === 'app' && h('span', { class: 'brand-school' }, state.schoolName)));
    if (state.mode !== 'app') {
      replaceChildren(header, h('div', { class: 'header-row' }, brand));
      return;
    }
    const nav = h('nav', { class: 'app-nav', 'aria-label': t('nav.label') },
      NAV.filter((item) => !item.roles || item.roles.includes(state.role)).map((item) => {
        const current = item.match.includes(state.route);
        return h('a', { href: item.hash, class: ['nav-link', current && 'is-current'], 'aria-current': current ? 'page' : false },
          t(item.key),
          item.hash === '#/attention' && state.attention > 0
            && h('span', { class: 'badge badge-attention', 'aria-label': t('nav.attention_count', { count: state.attention }) },
              formatNumber(state.attention)));
      }));
    const lock = h('button', { type: 'button', class: 'button button-secondary button-lock', onclick: onLock },
      h('span', { class: 'lock-glyph', 'aria-hidden': 'true' }), t('shell.lock'));
    replaceChildren(header, h('div', { class: 'header-row' }, brand, nav, lock), renderStatus());
  }

  function renderStatus() {
    const s = state.sync;
    const busy = s.phase === 'sending' || s.phase === 'receiving';
    const parts = [
      h('span', { class: ['status-dot', s.online ? 'is-online' : 'is-offline'], 'aria-hidden': 'true' }),
      h('span', { class: 'status-item' }, s.online ? t('sync.online') : t('sync.offline_short')),
      h('span', { class: 'status-item' },
        s.lastSync ? t('sync.last_sync', { time: formatDateTime(s.lastSync) }) : t('sync.never_synced')),
      h('span', { class: ['status-item', s.pending > 0 && 'status-pending'] },
        s.pending > 0 ? t('sync.pending_count', { count: formatNumber(s.pending) }) : t('sync.all_sent')),
    ];
    const button = h('button', { type: 'button', class: 'button button-small button-secondary', onclick: onSyncNow, disabled: busy },
      busy ? t('sync.syncing') : t('sync.sync_now'));
    return h('div', { class: 'status-bar', role: 'status' }, h('div', { class: 'status-items' }, parts), button);
  }

  function renderBanners() {
    clear(banners);
    const s = state.sync;
    if (state.update) {
      const u = state.update;
      let text = u.waitingForSave ? t('update.available_unsaved') : t('update.available');
      if (u.accepted) text = u.waitingForSave ? t('update.waiting_for_save') : t('update.reloading');
      banners.append(h('div', { class: 'banner banner-update' },
        h('span', null, text),
        !u.accepted && h('button', { type: 'button', class: 'button button-small button-primary', onclick: u.onAccept },
          t('update.reload'))));
    }
    if (state.mode !== 'app') {
      if (!s.online) banners.append(h('div', { class: 'banner banner-offline' }, t('sync.offline_banner_public')));
      return;
    }
    if (!s.online) banners.append(h('div', { class: 'banner banner-offline' }, t('sync.offline_banner')));
    if (s.total > 0 && s.phase === 'sending') {
      banners.append(h('div', { class: 'banner banner-progress' },
        h('span', null, t('sync.sending', { sent: formatNumber(s.sent), total: formatNumber(s.total) })),
        h('progress', { max: s.total, value: s.sent, 'aria-hidden': 'true' })));
    } else if (s.phase === 'receiving') {
      banners.append(h('div', { class: 'banner banner-progress' }, t('sync.receiving')));
    }
    if (s.error) banners.append(h('div', { class: 'banner banner-warning' }, s.error));
    if (s.onRelogin) {
      banners.append(h('div', { class: 'banner banner-warning' },
        h('span', null, t('relogin.banner')),
        h('button', { type: 'button', class: 'button button-small button-primary', onclick: s.onRelogin }, t('relogin.submit'))));
    }
  }

  function render() {
    renderHeader();
    renderBanners();
  }
  render();

  return {
    main,
    /** @param {'public'|'app'} mode */
    setMode(mode) {
      state.mode = mode;
      render();
    },
    /** @param {string} route the route name, to mark the current navigation link */
    setRoute(route) {
      state.route = route;
      renderHeader();
    },
    /** @param {object} syncState the sync module's 'state' event, plus an optional `error` text */
    setSync(syncState) {
      state.sync = { ...state.sync, ...syncState };
      render();
    },
    /** @param {number} count rejected mutations waiting for the user */
    setAttention(count) {
      state.attention = count;
      renderHeader();
    },
    /** @param {string} name the school's name @param {string|null} [role] the user's role */
    setSchoolName(name, role = null) {
      state.schoolName = name || '';
      state.role = role;
      renderHeader();
    },
    /** @param {null|{waitingForSave: boolean, accepted: boolean, onAccept: () => void}} update */
    setUpdate(update) {
      state.update = update;
      renderBanners();
    },
    render,
  };
}
