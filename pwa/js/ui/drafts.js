/**
 * Unsaved form input, kept in memory only. A draft survives navigation and the lock screen (the user
 * never loses what they typed), but never reaches storage: it may hold a child's name.
 * The update prompt asks `hasUnsaved()` before it lets a new version reload the page.
 */

const drafts = new Map();
const listeners = new Set();

/**
 * The draft of a form, or undefined.
 * @param {string} key e.g. 'new', 'amend:<appeal id>', 'resend:<mutation id>'
 * @returns {object|undefined}
 */
export function getDraft(key) {
  return drafts.get(key);
}

/**
 * Keep a form's values; `dirty` says whether they differ from what is saved.
 * @param {string} key
 * @param {object} values
 * @param {boolean} [dirty]
 */
export function saveDraft(key, values, dirty = true) {
  const wasUnsaved = hasUnsaved();
  drafts.set(key, { values, dirty });
  if (wasUnsaved !== hasUnsaved()) notify();
}

/**
 * Forget a draft: the form was saved or discarded.
 * @param {string} key
 */
export function dropDraft(key) {
  const wasUnsaved = hasUnsaved();
  drafts.delete(key);
  if (wasUnsaved !== hasUnsaved()) notify();
}

/** @returns {boolean} whether any form holds input that is not saved */
export function hasUnsaved() {
  for (const draft of drafts.values()) if (draft.dirty) return true;
  return false;
}

/**
 * Be told when `hasUnsaved()` changes.
 * @param {(unsaved: boolean) => void} listener
 * @returns {() => void} unsubscribe
 */
export function onUnsavedChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify() {
  const unsaved = hasUnsaved();
  for (const listener of listeners) listener(unsaved);
}
