/**
 * Compiled JSON Schema validators, kept between runs. Compiling the schemas a `lab:up` needs (11 of them) costs ajv
 * about 0.4 s each run; the validator code ajv generates is saved once as a small CommonJS module under
 * dist/validators/, named by a hash of the schema, ajv's version and its options, and later runs load that instead.
 * A changed schema has a new name, so nothing stale is ever loaded; a cache that cannot be read or written is only
 * slower, never wrong.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import standalone from 'ajv/dist/standalone/index.js';
import { repoRoot } from './schemas.js';

const require = createRequire(import.meta.url);
const ajvVersion = (require('ajv/package.json') as { version: string }).version;

export interface ValidatorCache {
  compile(schema: object): ValidateFunction;
  /** How many validators were loaded from the folder and how many compiled, for tests and benchmarks. */
  readonly loaded: number;
  readonly compiled: number;
}

export function validatorCache(options: Options, folder: string | undefined = join(repoRoot, 'dist', 'validators')): ValidatorCache {
  const ajv = new Ajv({ ...options, code: { ...options.code, source: true } });
  const salt = `ajv ${ajvVersion} ${JSON.stringify(options)}\n`;
  let loaded = 0;
  let compiled = 0;
  return {
    get loaded() {
      return loaded;
    },
    get compiled() {
      return compiled;
    },
    compile(schema) {
      const name = `${createHash('sha256').update(salt).update(JSON.stringify(schema)).digest('hex').slice(0, 24)}.cjs`;
      if (folder) {
        try {
          const fn = require(join(folder, name)) as ValidateFunction;
          if (typeof fn === 'function') {
            loaded += 1;
            return fn;
          }
        } catch {
          // not saved yet (or unreadable): compile it below
        }
      }
      const fn = ajv.compile(schema);
      compiled += 1;
      if (folder) save(folder, name, standalone.default(ajv, fn));
      return fn;
    },
  };
}

/** Written to a temporary name and renamed, so a concurrent run loads the whole module or none. */
function save(folder: string, name: string, code: string): void {
  const tmp = join(folder, `.${name}.${process.pid}`);
  try {
    mkdirSync(folder, { recursive: true });
    writeFileSync(tmp, code);
    renameSync(tmp, join(folder, name));
  } catch {
    // a read-only checkout (or no folder can be made): every run compiles
    try {
      rmSync(tmp, { force: true });
    } catch {
      // nothing was written
    }
  }
}
