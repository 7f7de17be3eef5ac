/**
 * Correcting a letter. The journal is append-only: a correction names the changed fields and a reason,
 * and the letter's history keeps both.
 */
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { FormProblem, letterForm } from './letter-form.js';
import { registrationChanges, registrationFromValues, registrationFromView, valuesFromRegistration } from './letter-values.js';
import { letterTitle } from './letter.js';

/**
 * @param {object} app
 * @param {{id: string}} params
 * @returns {Promise<HTMLElement>}
 */
export async function render(app, { id }) {
  const view = await app.store.getAppeal(id);
  if (!view) {
    return h('section', { class: 'screen' }, h('h1', null, t('letter.not_found')),
      h('a', { href: '#/journal', class: 'button button-secondary' }, t('common.back_to_journal')));
  }
  const before = registrationFromView(view);
  const form = letterForm(app, {
    draftKey: `amend:${id}`,
    initial: valuesFromRegistration(before),
    withReason: true,
    submitLabel: t('amend.submit'),
    letterId: id,
    async onSave(values, reason) {
      const changes = registrationChanges(before, registrationFromValues(values));
      if (Object.keys(changes).length === 0) throw new FormProblem('amend.error_no_changes');
      await app.store.amendAppeal(id, changes, reason.trim());
      app.afterSave();
      app.flash(t('amend.saved'));
    },
    onDone: () => app.navigate(`#/letter/${id}`),
  });
  return h('section', { class: 'screen' },
    h('p', { class: 'breadcrumb' }, h('a', { href: `#/letter/${id}` }, letterTitle(view))),
    h('h1', null, t('amend.title', { title: letterTitle(view) })),
    h('p', { class: 'lead' }, t('amend.intro')),
    form);
}
