/**
 * Modal dialogs on the native <dialog> element: focus is trapped and Escape cancels, for free.
 */
import { h } from '../dom.js';
import { t } from '../i18n.js';

/**
 * Ask the user to confirm an action.
 * @param {{title: string, body: (string|Node)[]|string, confirm: string, cancel?: string, danger?: boolean}} spec
 * @returns {Promise<boolean>} true when confirmed
 */
export function confirmDialog({ title, body, confirm, cancel = t('common.cancel'), danger = false }) {
  return new Promise((resolve) => {
    const titleId = `dialog-title-${Date.now()}`;
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId },
      h('form', { method: 'dialog', class: 'dialog-body' },
        h('h2', { id: titleId }, title),
        ...(Array.isArray(body) ? body : [body]).map((part) => (part instanceof Node ? part : h('p', null, part))),
        h('div', { class: 'button-row' },
          h('button', { type: 'submit', value: 'cancel', class: 'button button-secondary' }, cancel),
          h('button', { type: 'submit', value: 'confirm', class: ['button', danger ? 'button-danger' : 'button-primary'] },
            confirm))));
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/**
 * Show a form in a modal dialog. `build(close)` returns the form's content; call `close(value)` to end.
 * @param {{title: string, build: (close: (value: *) => void) => Node[], className?: string}} spec
 * @returns {Promise<*>} the value passed to close, or undefined when dismissed
 */
export function formDialog({ title, build, className }) {
  return new Promise((resolve) => {
    const titleId = `dialog-title-${Date.now()}`;
    let result;
    const dialog = h('dialog', { class: ['dialog', className], 'aria-labelledby': titleId });
    const close = (value) => {
      result = value;
      dialog.close();
    };
    dialog.append(h('div', { class: 'dialog-body' }, h('h2', { id: titleId }, title), ...build(close)));
    dialog.addEventListener('close', () => {
      resolve(result);
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Close every open dialog (the app locked: nothing may stay on screen). */
export function closeAllDialogs() {
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
}
