/**
 * The school's administration (#/admin, #/admin/devices, #/admin/settings; the admin's role): the tabs and
 * the frame around the section the address names — the accounts and the devices (admin-accounts.js) or the
 * settings (admin-settings.js). Online only: the server keeps all of it, the tablet nothing; without the
 * network the screen says so and offers to try again.
 */
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { online, unavailableView } from './dashboard.js';
import { devicesSection, usersSection } from './admin-accounts.js';
import { settingsSection } from './admin-settings.js';

const SECTIONS = { users: usersSection, devices: devicesSection, settings: settingsSection };
const TABS = Object.keys(SECTIONS);

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
