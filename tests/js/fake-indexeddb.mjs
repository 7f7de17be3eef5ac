// A small in-memory IndexedDB for node tests: the subset pwa/js/idb.js uses, with the rules that matter.
// - A transaction is active only during the task that created it and during its request callbacks (plus
//   their microtasks). A request made later, e.g. after awaiting WebCrypto, throws TransactionInactiveError,
//   and a transaction with nothing pending commits: exactly the mistakes the real one punishes.
// - Transactions run one at a time, in creation order; an error or abort rolls back everything they wrote.
// - Values are stored as structured clones; unique indexes are enforced.

const clone = (value) => structuredClone(value);

function domError(name, message = name) {
  return new DOMException(message, name);
}

function validKey(key) {
  return (typeof key === 'number' && !Number.isNaN(key)) || typeof key === 'string';
}

// IndexedDB key order for the kinds used here: numbers before strings.
function compareKeys(a, b) {
  if (typeof a !== typeof b) return typeof a === 'number' ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

class FakeRequest {
  constructor(source) {
    this.source = source;
    this.result = undefined;
    this.error = null;
    this.onsuccess = null;
    this.onerror = null;
    this.readyState = 'pending';
  }
}

class StoreData {
  constructor(keyPath) {
    this.keyPath = keyPath;
    this.rows = new Map(); // key -> value
    this.indexes = new Map(); // name -> {keyPath, unique}
  }

  copy() {
    const other = new StoreData(this.keyPath);
    other.rows = new Map([...this.rows].map(([k, v]) => [k, clone(v)]));
    other.indexes = new Map(this.indexes);
    return other;
  }

  sortedKeys() {
    return [...this.rows.keys()].sort(compareKeys);
  }
}

class FakeIndex {
  constructor(store, name) {
    this.store = store;
    this.name = name;
  }

  matches(query) {
    const { keyPath } = this.store.data().indexes.get(this.name);
    const data = this.store.data();
    return data.sortedKeys().filter((k) => query === undefined || data.rows.get(k)[keyPath] === query);
  }

  get(query) {
    return this.store.tx.request(this, () => {
      const [key] = this.matches(query);
      return key === undefined ? undefined : clone(this.store.data().rows.get(key));
    });
  }

  getAll(query) {
    return this.store.tx.request(this, () => this.matches(query).map((k) => clone(this.store.data().rows.get(k))));
  }

  getAllKeys(query) {
    return this.store.tx.request(this, () => this.matches(query));
  }

  count(query) {
    return this.store.tx.request(this, () => this.matches(query).length);
  }
}

class FakeObjectStore {
  constructor(tx, name) {
    this.tx = tx;
    this.name = name;
  }

  data() {
    return this.tx.db.stores.get(this.name);
  }

  get keyPath() {
    return this.data().keyPath;
  }

  createIndex(name, keyPath, { unique = false } = {}) {
    if (this.tx.mode !== 'versionchange') throw domError('InvalidStateError');
    this.data().indexes.set(name, { keyPath, unique });
    return new FakeIndex(this, name);
  }

  index(name) {
    if (!this.data().indexes.has(name)) throw domError('NotFoundError', `no index ${name}`);
    return new FakeIndex(this, name);
  }

  get(key) {
    return this.tx.request(this, () => clone(this.data().rows.get(key)));
  }

  getAll(query) {
    return this.tx.request(this, () => {
      const data = this.data();
      return data.sortedKeys().filter((k) => query === undefined || k === query).map((k) => clone(data.rows.get(k)));
    });
  }

  getAllKeys() {
    return this.tx.request(this, () => this.data().sortedKeys());
  }

  count() {
    return this.tx.request(this, () => this.data().rows.size);
  }

  put(value, key) {
    this.tx.checkWritable();
    const { keyPath } = this.data();
    const k = keyPath ? value?.[keyPath] : key;
    if (!validKey(k)) throw domError('DataError', 'no valid key');
    const stored = clone(value); // DataCloneError here, synchronously, as in a browser
    return this.tx.request(this, () => {
      const data = this.data();
      for (const [name, index] of data.indexes) {
        if (!index.unique) continue;
        for (const [otherKey, other] of data.rows) {
          if (compareKeys(otherKey, k) !== 0 && other[index.keyPath] === stored[index.keyPath]) {
            throw domError('ConstraintError', `unique index ${name}`);
          }
        }
      }
      data.rows.set(k, stored);
      return k;
    });
  }

  delete(key) {
    this.tx.checkWritable();
    return this.tx.request(this, () => {
      this.data().rows.delete(key);
    });
  }

  clear() {
    this.tx.checkWritable();
    return this.tx.request(this, () => {
      this.data().rows.clear();
    });
  }
}

class FakeTransaction {
  constructor(db, names, mode, options = {}) {
    this.db = db;
    this.names = names;
    this.mode = mode;
    this.durability = options.durability ?? 'default';
    this.oncomplete = null;
    this.onabort = null;
    this.onerror = null;
    this.error = null;
    this.queue = [];
    this.active = true;
    this.finished = false;
    this.started = false;
    this.snapshot = null;
  }

  objectStore(name) {
    if (!this.names.includes(name)) throw domError('NotFoundError', `${name} is not in this transaction`);
    return new FakeObjectStore(this, name);
  }

  checkWritable() {
    if (this.mode === 'readonly') throw domError('ReadOnlyError');
  }

  request(source, operation) {
    if (this.finished || !this.active) throw domError('TransactionInactiveError');
    const request = new FakeRequest(source);
    this.queue.push({ request, operation });
    return request;
  }

  start() {
    this.started = true;
    this.snapshot = new Map(this.names.map((n) => [n, this.db.stores.get(n).copy()]));
    this.schedule();
  }

  schedule() {
    setImmediate(() => this.pump());
  }

  // One task: the previous callback's task is over (inactive); run the next request, or commit.
  pump() {
    if (this.finished) return;
    this.active = false;
    if (!this.started) return;
    const next = this.queue.shift();
    if (!next) {
      this.finish('complete');
      return;
    }
    const { request, operation } = next;
    try {
      request.result = operation();
      request.readyState = 'done';
      this.active = true;
      request.onsuccess?.({ target: request });
    } catch (error) {
      request.error = error;
      request.readyState = 'done';
      this.active = true;
      let prevented = false;
      request.onerror?.({ target: request, preventDefault: () => { prevented = true; } });
      if (!prevented) {
        this.error = error;
        this.abortNow();
        return;
      }
    }
    this.schedule();
  }

  abort() {
    if (this.finished) throw domError('InvalidStateError');
    this.abortNow();
  }

  abortNow() {
    for (const { request } of this.queue) {
      request.error = domError('AbortError');
      request.onerror?.({ target: request, preventDefault() {} });
    }
    this.queue = [];
    if (this.snapshot) for (const [name, data] of this.snapshot) this.db.stores.set(name, data);
    this.finish('abort');
  }

  finish(outcome) {
    this.finished = true;
    this.active = false;
    this.db.factory.log.push({ names: this.names, mode: this.mode, durability: this.durability, outcome });
    setImmediate(() => {
      if (outcome === 'complete') this.oncomplete?.({ target: this });
      else this.onabort?.({ target: this });
      this.db.runNext();
    });
  }
}

class FakeDatabase {
  constructor(factory, record) {
    this.factory = factory;
    this.record = record;
    this.name = record.name;
    this.version = record.version;
    this.onversionchange = null;
    this.closed = false;
  }

  get stores() {
    return this.record.stores;
  }

  get objectStoreNames() {
    const names = [...this.stores.keys()];
    return { contains: (n) => names.includes(n), length: names.length, item: (i) => names[i] };
  }

  createObjectStore(name, { keyPath = null } = {}) {
    if (!this.upgrading) throw domError('InvalidStateError');
    this.stores.set(name, new StoreData(keyPath));
    return new FakeObjectStore(this.upgrading, name);
  }

  transaction(names, mode = 'readonly', options) {
    if (this.closed) throw domError('InvalidStateError', 'the connection is closed');
    const list = typeof names === 'string' ? [names] : [...names];
    for (const n of list) if (!this.stores.has(n)) throw domError('NotFoundError', `no store ${n}`);
    const tx = new FakeTransaction(this, list, mode, options);
    this.record.pending.push(tx);
    if (!this.record.running) this.runNext();
    else tx.schedule(); // inactive once this task is over, while it waits for its turn
    return tx;
  }

  runNext() {
    const { record } = this;
    if (record.running && !record.running.finished) return;
    record.running = record.pending.shift() ?? null;
    record.running?.start();
  }

  close() {
    this.closed = true;
  }
}

/** A fresh IndexedDB factory with its own databases; `log` lists every finished transaction. */
export class FakeIDBFactory {
  constructor() {
    this.databases = new Map();
    this.log = [];
  }

  open(name, version = 1) {
    const request = new FakeRequest(null);
    request.onupgradeneeded = null;
    request.onblocked = null;
    setImmediate(() => {
      let record = this.databases.get(name);
      if (!record) {
        record = { name, version: 0, stores: new Map(), pending: [], running: null };
        this.databases.set(name, record);
      }
      if (version < record.version) {
        request.error = domError('VersionError');
        request.onerror?.({ target: request });
        return;
      }
      const db = new FakeDatabase(this, record);
      request.result = db;
      if (version > record.version) {
        const oldVersion = record.version;
        const tx = new FakeTransaction(db, [], 'versionchange');
        db.upgrading = tx;
        request.transaction = tx;
        request.onupgradeneeded?.({ target: request, oldVersion, newVersion: version });
        db.upgrading = null;
        record.version = version;
        db.version = version;
      }
      request.onsuccess?.({ target: request });
    });
    return request;
  }
}
