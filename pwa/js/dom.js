/**
 * Building DOM nodes without HTML strings: user text only ever becomes text nodes, so a letter that
 * contains markup is shown as the characters it is, and the CSP needs no 'unsafe-inline'.
 */

/** Properties set as DOM properties rather than attributes (they reflect state, not markup). */
const PROPERTIES = new Set(['value', 'checked', 'selected', 'disabled', 'indeterminate']);
/**
 * Elements whose typed state the browser keeps unless told not to: with autocomplete on, Chromium saves
 * what a form holds with the tab's history, in the profile's session-restore files (Sessions/) on disk,
 * unencrypted, where a stolen tablet's disk shows a letter typed into a textarea. So every one is made with
 * autocomplete off unless its caller names a token (the login's `username`, the passwords); drafts.js
 * keeps unsaved input in memory instead.
 */
const KEEPS_TYPED_STATE = new Set(['form', 'input', 'textarea', 'select']);

/**
 * Create an element.
 * @param {string} tag element name, e.g. 'button'
 * @param {Object<string, *>|null} [attrs] attributes; `class` may be an array (falsy entries dropped),
 *   `on<event>` values are listeners, `dataset` an object, `false`/`null`/`undefined` leave the attribute out
 * @param {...(Node|string|number|null|undefined|false|Array)} children nodes or text; falsy ones are skipped
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (KEEPS_TYPED_STATE.has(tag) && !attrs?.autocomplete) el.setAttribute('autocomplete', 'off');
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name === 'class') {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    } else if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (PROPERTIES.has(name)) {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/**
 * Append children (nodes, text, nested arrays); null, undefined and false are skipped.
 * @param {Node} parent
 * @param {Array} children
 * @returns {Node} the parent
 */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/**
 * Remove every child of a node, so nothing it showed remains in the document.
 * @param {Node} node
 */
export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
}

/**
 * Replace a node's children.
 * @param {Node} node
 * @param {...*} children as for `h`
 */
export function replaceChildren(node, ...children) {
  clear(node);
  append(node, children);
}

let idCounter = 0;

/**
 * A document-unique id for pairing a <label for> with its control.
 * @param {string} prefix readable part of the id
 * @returns {string}
 */
export function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}
