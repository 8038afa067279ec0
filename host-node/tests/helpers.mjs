// Shared by the node --test suite: loads the package under test and names its error codes.
//
// DOCVAULT_PKG is the package directory to test: host-node/test.sh points it at the copy npm
// installed from the packed tarball; by default the build output (target/host-node/package).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const pkgDir = path.resolve(process.env.DOCVAULT_PKG ?? path.join(repo, 'target/host-node/package'));
export const dv = createRequire(import.meta.url)(pkgDir);
export const pkgJson = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));

export const golden = (file) => readFileSync(path.join(repo, 'tests/golden', file));

/** Every `code` the .d.ts lists in `DocvaultErrorCode`. */
export const CODES = [
  'invalid_json',
  'missing_field',
  'schema_version',
  'duplicate_document_id',
  'duplicate_object_key',
  'key_outside_day',
  'bad_parts',
  'invalid_failure',
  'count_mismatch',
  'status_mismatch',
  'retention_mismatch',
  'parted_manifest',
  'parted_not_complete',
  'bad_parts_list',
  'bad_part_key',
  'part_missing',
  'part_altered',
  'part_invalid',
  'part_mismatch',
  'stored_and_failed',
  'duplicate_failure',
  'invalid_input',
  'invalid_prefix',
  'unrepresentable',
];

/** Asserts `f` throws a DocvaultError with `code` (and, if given, a message matching `re`). */
export function throwsCode(f, code, re) {
  let caught;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught, `expected a DocvaultError with code ${code}, nothing was thrown`);
  assert.ok(caught instanceof Error, `not an Error: ${caught}`);
  assert.equal(caught.name, 'DocvaultError', `${caught.name}: ${caught.message}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.message.length > 10);
  if (re) assert.match(caught.message, re);
  return caught;
}

export const DATE = '2026-11-27';
export const AT = '2026-11-27T02:00:00Z';

export const header = (count, extra = {}) => ({
  backup_date: DATE,
  backup_timestamp: AT,
  environment: 'prod',
  source: { kind: 'generator', count, seed: 0 },
  ...extra,
});
