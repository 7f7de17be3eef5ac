/** The local journal's own errors (beside protocol.js's Refusal and vault.js's Locked), as the screens word them. */
import { errorPaths } from '../validation.js';

/** Data that fails the same checks the server makes; `errors` is keyed by field, `paths` are dotted. */
export class ValidationFailed extends Error {
  constructor(errors) {
    super('The data is not valid.');
    this.name = 'ValidationFailed';
    this.code = 'validation_failed';
    this.errors = errors;
    this.paths = errorPaths(errors);
  }
}

/** The row to act on is gone (another tab acted on it first). */
export class NotFound extends Error {
  constructor(what) {
    super(`${what} was not found.`);
    this.name = 'NotFound';
    this.code = 'item_not_found';
  }
}

/**
 * One id, one mutation: this tablet holds another mutation under the id (in its outbox or "needs attention"),
 * which writing this one would replace unseen. The id is not named: nothing of a letter goes into a message.
 */
export class MutationIdTaken extends Error {
  constructor() {
    super('Another change is held under this change\'s id; it is kept and this one is not saved.');
    this.name = 'MutationIdTaken';
    this.code = 'id_held_here';
  }
}
