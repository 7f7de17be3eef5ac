// The PWA's dependency rules, read from the modules' import statements (`make lint` runs this file too):
// the printed papers (js/print/) are drawn from plain data and the shared modules, never from the screens
// (js/ui/), not even through another module, so a paper can be made without any screen's code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const PWA = join(dirname(fileURLToPath(import.meta.url)), '../../pwa');

/** Each rule: no module under `from` reaches a module under `never`. */
const RULES = [{ from: 'js/print/', never: 'js/ui/' }];

// Static imports and re-exports (`… from '…'`, over several lines too), bare imports, and import('…').
const SPECIFIERS = [
  /^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm,
  /^\s*import\s*['"]([^'"]+)['"]/gm,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/** The site paths `module` imports (relative specifiers only: the app has no other kind). */
function importsOf(root, module) {
  const source = readFileSync(join(root, module), 'utf8');
  const found = new Set();
  for (const pattern of SPECIFIERS) {
    for (const match of source.matchAll(pattern)) {
      if (match[1].startsWith('.')) found.add(posix.normalize(posix.join(posix.dirname(module), match[1])));
    }
  }
  return [...found];
}

function modulesUnder(root, folder) {
  return readdirSync(join(root, folder), { recursive: true })
    .map((name) => posix.join(folder, String(name).split(sep).join('/')))
    .filter((path) => /\.(?:m?js|json)$/.test(path));
}

/** Every way a rule is broken: the chain of imports from a module under `from` to one under `never`. */
function violations(root, rules = RULES) {
  const found = [];
  for (const { from, never } of rules) {
    for (const start of modulesUnder(root, from).filter((path) => path.endsWith('.js'))) {
      const seen = new Set([start]);
      const queue = [[start]];
      while (queue.length > 0) {
        const chain = queue.shift();
        const here = chain.at(-1);
        if (here.startsWith(never)) {
          found.push(chain.join(' -> '));
          continue;
        }
        if (!here.endsWith('.js')) continue; // a JSON module imports nothing
        for (const next of importsOf(root, here)) {
          if (!seen.has(next)) {
            seen.add(next);
            queue.push([...chain, next]);
          }
        }
      }
    }
  }
  return found;
}

test('the printed papers import nothing of the screens, directly or not', () => {
  assert.ok(modulesUnder(PWA, 'js/print/').length > 0);
  assert.deepEqual(violations(PWA), []);
});

test('a paper that reaches a screen through another module is found, with the chain', () => {
  const root = mkdtempSync(join(tmpdir(), 'ishenim-layers-'));
  for (const folder of ['js/print', 'js/ui']) mkdirSync(join(root, folder), { recursive: true });
  writeFileSync(join(root, 'js/print/paper.js'), "import { label } from '../shared.js';\nexport const paper = label;\n");
  writeFileSync(join(root, 'js/shared.js'), "export {\n  label,\n} from './ui/format.js';\n");
  writeFileSync(join(root, 'js/ui/format.js'), 'export const label = 1;\n');
  writeFileSync(join(root, 'js/print/lazy.js'), "export const screen = () => import('../ui/format.js');\n");
  assert.deepEqual(violations(root).sort(), [
    'js/print/lazy.js -> js/ui/format.js',
    'js/print/paper.js -> js/shared.js -> js/ui/format.js',
  ]);
});
