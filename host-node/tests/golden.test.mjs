// Cross-host determinism: manifests built through the package for the golden inputs are byte
// for byte the files in tests/golden/ (which the native tests hold the core and the CLI to),
// and, when DOCVAULT_CLI names the native `docvault` binary, byte for byte its output too.
//
// The inputs are those of tests/src/lib.rs: date 2026-11-27, backup at 02:00:00Z.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import test from 'node:test';

import { AT, DATE, dv, golden, repo, throwsCode } from './helpers.mjs';

/** A generated day where the listed documents failed instead of being stored (as in Rust). */
function generated(count, seed, environment, runId, failures) {
  const header = {
    backup_date: DATE,
    backup_timestamp: AT,
    environment,
    ...(runId ? { run_id: runId } : {}),
    source: { kind: 'generator', count, seed },
  };
  const stored = [];
  const failed = [];
  dv.generateDocuments({ date: DATE, count, seed }).forEach((document, i) => {
    const f = failures.find(([index]) => index === i);
    if (f) {
      const [, stage, reason] = f;
      failed.push({ document_id: document.document_id, stage, reason, attempts: stage === 'read' ? 1 : 4 });
    } else {
      stored.push(document);
    }
  });
  return dv.buildManifestJson(header, stored, failed);
}

const CASES = [
  {
    file: 'manifest-500-2026-11-27.json',
    build: () => generated(500, 0, 'prod', null, []),
    generate: { date: DATE, at: AT, count: 500 },
    cli: ['manifest', '--generate', '500', '--date', DATE, '--at', AT],
  },
  {
    file: 'manifest-empty-2026-11-27.json',
    build: () => generated(0, 0, 'prod', null, []),
    generate: { date: DATE, at: AT, count: 0 },
    cli: ['manifest', '--generate', '0', '--date', DATE, '--at', AT],
  },
  {
    file: 'manifest-failed-2026-11-27.json',
    build: () =>
      generated(20, 42, 'staging', 'golden-run-1', [
        [3, 'read', 'permission denied reading the source object'],
        [7, 'store', 'BadDigest: the body did not match x-amz-checksum-sha256'],
        [11, 'store', 'SlowDown after 4 attempts'],
      ]),
  },
];

const cli = process.env.DOCVAULT_CLI;

for (const c of CASES) {
  const expected = golden(c.file);

  test(`${c.file}: generateDocuments + buildManifestJson write the golden bytes`, () => {
    const bytes = Buffer.from(c.build(), 'utf8');
    assert.ok(bytes.equals(expected), `differs from tests/golden/${c.file}`);
  });

  test(`${c.file}: parseManifest + manifestToJson give the same bytes back`, () => {
    const again = Buffer.from(dv.manifestToJson(dv.parseManifest(expected.toString('utf8'))), 'utf8');
    assert.ok(again.equals(expected));
  });

  if (c.generate) {
    test(`${c.file}: generateManifestJson writes the golden bytes`, () => {
      assert.ok(Buffer.from(dv.generateManifestJson(c.generate), 'utf8').equals(expected));
    });
    test(`${c.file}: the native CLI prints the same bytes as Node`, { skip: cli ? false : 'DOCVAULT_CLI is not set' }, () => {
      const native = execFileSync(cli, c.cli, { maxBuffer: 64 << 20 });
      assert.ok(native.equals(Buffer.from(dv.generateManifestJson(c.generate), 'utf8')), 'Node and the CLI differ');
      assert.ok(native.equals(expected), 'the CLI differs from the golden file');
    });
  }
}

// Days written with a retention policy (one per class): the package reads the retention the
// native run recorded and writes the same bytes back.
for (const [file, cls] of [
  ['manifest-retention-daily-2026-11-27.json', 'daily'],
  ['manifest-retention-weekly-2026-11-29.json', 'weekly'],
  ['manifest-retention-monthly-2026-12-01.json', 'monthly'],
  ['manifest-retention-yearly-2027-01-01.json', 'yearly'],
]) {
  test(`${file}: the retention round-trips through parseManifest + manifestToJson`, () => {
    const expected = golden(file);
    const m = dv.parseManifest(expected.toString('utf8'));
    assert.equal(m.retention.class, cls);
    assert.equal(m.retention.lock_mode, 'compliance');
    assert.ok(m.retention.retain_until > m.backup_date);
    assert.ok(Buffer.from(dv.manifestToJson(m), 'utf8').equals(expected));
  });
}

test('verifyObjects reports an object locked for less than the manifest retention', () => {
  const m = dv.parseManifest(golden('manifest-retention-daily-2026-11-27.json').toString('utf8'));
  const locked = {
    lock_mode: 'compliance', retain_until: `${m.retention.retain_until.slice(0, 8)}05T00:00:00Z`,
    legal_hold: false, class_tag: 'daily',
  };
  const objects = m.documents.map((d, i) => ({
    key: d.object_key, size: d.file_size, stored_checksum: { sha256: d.checksum },
    retention: i === 0 ? { lock_mode: 'none', class_tag: null } : { ...locked, legal_hold: i === 1 },
  }));
  const r = dv.verifyObjects(m, objects);
  assert.deepEqual(r.retention_mismatch.map((x) => x.key), [m.documents[0].object_key]);
  assert.equal(r.retention_mismatch[0].actual, 'no lock, no class tag');
  assert.equal(r.legal_holds, 1);
});

// The golden day in parts (tests/golden/parted-2026-11-27/: the daily retention case in parts
// of 2 documents, laid out as a day's folder).
const PARTED = 'parted-2026-11-27';
const partedFiles = () =>
  readdirSync(path.join(repo, 'tests/golden', PARTED, 'manifest-parts'))
    .sort()
    .map((name) => golden(`${PARTED}/manifest-parts/${name}`).toString('utf8'));

test('manifestToParts writes the golden day in parts byte for byte', () => {
  const m = dv.parseManifest(golden('manifest-retention-daily-2026-11-27.json').toString('utf8'));
  const out = dv.manifestToParts(m, 2);
  assert.equal(out.root, golden(`${PARTED}/manifest.json`).toString('utf8'));
  const parts = partedFiles();
  assert.deepEqual(out.parts.map((p) => p.text), parts);
  for (const p of out.parts) {
    assert.match(p.key, /^backups\/2026-11-27\/manifest-parts\/\d{5}-[0-9a-f]{64}\.json$/);
  }
  throwsCode(() => dv.manifestToParts(m, 0), 'invalid_input', /whole number/);
});

test('parseManifest joins a root with its parts into the one-document manifest', () => {
  const root = golden(`${PARTED}/manifest.json`).toString('utf8');
  const parts = partedFiles();
  const single = dv.parseManifest(golden('manifest-retention-daily-2026-11-27.json').toString('utf8'));
  assert.deepEqual(dv.parseManifest(root, parts), single);
  assert.deepEqual(dv.validateManifest(root, parts), {
    valid: true, status: 'complete', backup_date: DATE, total_documents: 5, total_failed: 0,
  });
  // Without its parts, with one left out, out of order, altered, or one too many.
  throwsCode(() => dv.parseManifest(root), 'part_missing', /part 0/);
  throwsCode(() => dv.parseManifest(root, parts.slice(0, 2)), 'part_missing', /part 2/);
  throwsCode(() => dv.parseManifest(root, [parts[1], parts[0], parts[2]]), 'part_altered');
  throwsCode(() => dv.parseManifest(root, [parts[0], parts[1].replace('"hr"', '"it"'), parts[2]]), 'part_altered');
  throwsCode(() => dv.parseManifest(root, [...parts, parts[2]]), 'part_mismatch');
  assert.equal(dv.validateManifest(root).code, 'part_missing');
  // A one-document manifest has no parts; a root is not one document.
  throwsCode(() => dv.parseManifest(golden('manifest-retention-daily-2026-11-27.json').toString('utf8'), parts), 'invalid_input');
});
