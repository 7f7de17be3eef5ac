/**
 * Labelled form controls. Every control gets a <label for>, an optional hint and an error line tied to it
 * with aria-describedby, so a screen reader and a tablet user read the same form.
 */
import { h, uid, clear } from '../dom.js';

/**
 * A labelled control.
 * @param {{label: string, control: HTMLElement, hint?: string, required?: boolean, className?: string}} spec
 * @returns {HTMLElement} the field wrapper; `.control` and `.setError(text)` are attached to it
 */
export function field({ label, control, hint, required = false, className }) {
  if (!control.id) control.id = uid(control.name || 'field');
  const errorId = `${control.id}-error`;
  const hintId = hint ? `${control.id}-hint` : null;
  control.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  const error = h('p', { class: 'field-error', id: errorId, 'aria-live': 'polite' });
  const wrapper = h('div', { class: ['field', className] },
    h('label', { for: control.id }, label, required && h('span', { class: 'required-mark', 'aria-hidden': 'true' }, ' *')),
    control,
    hint && h('p', { class: 'field-hint', id: hintId }, hint),
    error);
  wrapper.control = control;
  wrapper.setError = (text) => {
    clear(error);
    if (text) error.append(text);
    control.toggleAttribute('aria-invalid', Boolean(text));
    wrapper.classList.toggle('has-error', Boolean(text));
  };
  return wrapper;
}

/**
 * A switch: a checkbox styled as a toggle, its label beside it.
 * @param {{name: string, label: string, checked?: boolean, hint?: string, onChange?: (checked: boolean) => void}} spec
 * @returns {HTMLElement} wrapper with `.control`
 */
export function toggle({ name, label, checked = false, hint, onChange }) {
  const control = h('input', { type: 'checkbox', role: 'switch', name, id: uid(name), checked });
  const hintId = hint ? `${control.id}-hint` : null;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  if (onChange) control.addEventListener('change', () => onChange(control.checked));
  const wrapper = h('div', { class: 'field field-toggle' },
    h('label', { class: 'toggle', for: control.id }, control, h('span', { class: 'toggle-track', 'aria-hidden': 'true' }),
      h('span', { class: 'toggle-label' }, label)),
    hint && h('p', { class: 'field-hint', id: hintId }, hint));
  wrapper.control = control;
  return wrapper;
}

/**
 * A <select> of codes with their labels.
 * @param {{name: string, options: Array<[string, string]>, value?: string, placeholder?: string, required?: boolean}} spec
 * @returns {HTMLSelectElement}
 */
export function select({ name, options, value = '', placeholder, required = false }) {
  const el = h('select', { name, required },
    placeholder !== undefined && h('option', { value: '' }, placeholder),
    options.map(([code, text]) => h('option', { value: code }, text)));
  el.value = value ?? '';
  return el;
}

/**
 * A busy state for a form's submit button, so a slow key derivation does not invite a second tap.
 * @param {HTMLButtonElement} button
 * @param {string} busyText
 * @returns {() => void} restores the button
 */
export function markBusy(button, busyText) {
  const text = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = busyText;
  return () => {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = text;
  };
}

/**
 * A message box inside a form (errors from the server or the vault).
 * @returns {HTMLElement} with `.show(text, kind)` and `.hide()`
 */
export function formMessage() {
  const box = h('div', { class: 'form-message', role: 'alert', hidden: true });
  box.show = (text, kind = 'error') => {
    clear(box);
    box.append(text);
    box.className = `form-message form-message-${kind}`;
    box.hidden = false;
  };
  box.hide = () => {
    box.hidden = true;
    clear(box);
  };
  return box;
}
