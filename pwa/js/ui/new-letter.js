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
 * @param {{id?: string}} [params] the opening the letter was taken out at, when registered from it
 * @returns {Promise<HTMLElement>}
 */
export async function render(app, { id: openingId } = {}) {
  let saved = null;
  const opening = openingId ? await app.store.getRecord(openingId) : null;
  const initial = opening ? { ...emptyValues(), opening_id: opening.id, received_on: opening.opened_at.slice(0, 10) } : emptyValues();
  const form = letterForm(app, {
    draftKey: opening ? `new:${opening.id}` : 'new',
    initial,
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
