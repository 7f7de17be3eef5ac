/**
 * Registering a letter. It is saved on the tablet (sealed, with its outbox row) and gets a provisional
 * mark; the server gives it its serial number at the next sync.
 */
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { emptyValues, letterForm } from './letter-form.js';
import { registrationFromValues } from './letter-values.js';

/**
 * @param {object} app
 * @returns {HTMLElement}
 */
export function render(app) {
  let saved = null;
  const form = letterForm(app, {
    draftKey: 'new',
    initial: emptyValues(),
    submitLabel: t('new.submit'),
    async onSave(values) {
      saved = await app.store.registerAppeal(registrationFromValues(values));
      app.afterSave();
    },
    onDone() {
      if (saved) {
        app.flash(t('new.saved', { mark: `~${saved.provisional_no ?? ''}` }));
        app.navigate(`#/letter/${saved.id}`);
      } else {
        app.navigate('#/journal');
      }
    },
  });
  return h('section', { class: 'screen' },
    h('h1', null, t('new.title')),
    h('p', { class: 'lead' }, t('new.intro')),
    form);
}
