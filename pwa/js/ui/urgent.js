/**
 * What to do with an urgent letter, shown the moment the urgent flag is set: the school's trust phones
 * (from the session, so they work offline) and a short checklist drawn from the regulations.
 */
import { h } from '../dom.js';
import { t } from '../i18n.js';

const CHECKLIST = ['urgent.step_safety', 'urgent.step_director', 'urgent.step_police', 'urgent.step_record'];

/**
 * The urgent panel.
 * @param {object|null} school the session's school: {trust_phones: [{label, phone}]}
 * @returns {HTMLElement}
 */
export function urgentPanel(school) {
  const phones = Array.isArray(school?.trust_phones) ? school.trust_phones : [];
  return h('section', { class: 'urgent-panel', 'aria-label': t('urgent.title') },
    h('h3', null, t('urgent.title')),
    h('ol', { class: 'urgent-steps' }, CHECKLIST.map((key) => h('li', null, t(key)))),
    h('h4', null, t('urgent.trust_phones')),
    phones.length === 0
      ? h('p', { class: 'muted' }, t('urgent.no_phones'))
      : h('ul', { class: 'phone-list' }, phones.map((entry) => h('li', null,
        h('span', { class: 'phone-label' }, entry.label),
        h('a', { class: 'phone-number', href: `tel:${String(entry.phone).replace(/[^0-9+]/g, '')}` }, entry.phone)))));
}
