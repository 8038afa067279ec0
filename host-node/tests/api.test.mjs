// Every export of the package, its results and its error paths (each checking the stable code).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import test, { describe } from 'node:test';

import { AT, CODES, DATE, dv, golden, header, pkgJson, throwsCode } from './helpers.mjs';

const EXPORTS = [
  'buildManifest',
  'buildManifestJson',
  'buildManifestJsonFromText',
  'checksumFromBase64',
  'checksumFromS3',
  'compareManifests',
  'generateDocument',
  'generateDocuments',
  'generateManifest',
  'generateManifestJson',
  'manifestJsonSchema',
  'manifestToJson',
  'manifestToParts',
  'parseManifest',
  'planUploads',
  'schemaVersion',
  'sha256Checksum',
  'summarize',
  'validateManifest',
  'verifyObjects',
  'version',
];

const GOLDEN_500 = golden('manifest-500-2026-11-27.json').toString('utf8');
const docs500 = () => dv.generateDocuments({ date: DATE, count: 500 });
const clone = (x) => structuredClone(x);

test('the package exports exactly the documented functions', () => {
  assert.deepEqual(Object.keys(dv).sort(), EXPORTS);
  for (const name of EXPORTS) assert.equal(typeof dv[name], 'function', name);
});

describe('version, schemaVersion, manifestJsonSchema', () => {
  test('version is the workspace version and the package.json version', () => {
    assert.equal(dv.version(), pkgJson.version);
    assert.match(dv.version(), /^\d+\.\d+\.\d+/);
  });
  test('schema version 1', () => assert.equal(dv.schemaVersion(), 1));
  test('the JSON Schema is JSON and describes the manifest', () => {
    const schema = JSON.parse(dv.manifestJsonSchema());
    assert.equal(typeof schema, 'object');
    assert.ok(JSON.stringify(schema).includes('backup_summary'));
  });
});

describe('generateDocuments', () => {
  test("the spec's day: 500 records, types and departments evenly spread", () => {
    const docs = docs500();
    assert.equal(docs.length, 500);
    const count = (f) => docs.filter(f).length;
    for (const t of ['invoice', 'receipt', 'contract', 'report', 'memo']) assert.equal(count((d) => d.type === t), 100, t);
    for (const d of ['finance', 'hr', 'operations', 'sales']) assert.equal(count((x) => x.metadata.department === d), 125, d);
    assert.equal(count((d) => d.metadata.confidential), 100);
    assert.equal(docs[7].document_id, 'contract_0007');
    assert.equal(docs[7].object_key, 'backups/2026-11-27/documents/contract_0007.txt');
    assert.equal(docs[0].content_type, 'text/csv');
    assert.match(docs[0].checksum, /^sha256:[0-9a-f]{64}$/);
    assert.equal(Object.getPrototypeOf(docs[0].metadata), Object.prototype, 'plain objects, not Maps');
    assert.ok(!('source' in docs[0]), 'absent optional fields are left out');
  });
  test('ranges are slices of the day; seeds change the day', () => {
    const all = docs500();
    assert.deepEqual(dv.generateDocuments({ date: DATE, count: 500, start: 100, end: 110 }), all.slice(100, 110));
    assert.deepEqual(dv.generateDocuments({ date: DATE, count: 500, seed: 0, end: 3 }), all.slice(0, 3));
    assert.deepEqual(dv.generateDocuments({ date: DATE, count: 0 }), []);
    const other = dv.generateDocuments({ date: DATE, count: 5, seed: 1 });
    assert.notEqual(other[0].checksum, all[0].checksum);
  });
  test('errors', () => {
    throwsCode(() => dv.generateDocuments({ date: '2026-02-30', count: 1 }), 'invalid_input', /2026-02-30/);
    throwsCode(() => dv.generateDocuments({ date: DATE, count: -1 }), 'invalid_input', /options\.count/);
    throwsCode(() => dv.generateDocuments({ date: DATE, count: 1.5 }), 'invalid_input');
    throwsCode(() => dv.generateDocuments({ date: DATE, count: 10, start: 5, end: 4 }), 'invalid_input', /range/);
    throwsCode(() => dv.generateDocuments({ date: DATE, count: 10, end: 11 }), 'invalid_input', /range/);
    throwsCode(() => dv.generateDocuments({ date: DATE, count: 2_000_000 }), 'invalid_input', /start/);
    throwsCode(() => dv.generateDocuments({ count: 1 }), 'invalid_input', /date/);
    throwsCode(() => dv.generateDocuments('2026-11-27'), 'invalid_input');
  });
});

describe('generateDocument', () => {
  test('the body is real: size and SHA-256 match the record', () => {
    const docs = dv.generateDocuments({ date: DATE, count: 10, seed: 7 });
    for (let i = 0; i < 10; i++) {
      const { document, body } = dv.generateDocument({ date: DATE, seed: 7 }, i);
      assert.ok(body instanceof Uint8Array);
      assert.deepEqual(document, docs[i]);
      assert.equal(body.length, document.file_size);
      assert.equal(`sha256:${createHash('sha256').update(body).digest('hex')}`, document.checksum);
      assert.equal(dv.sha256Checksum(body), document.checksum);
    }
    const text = Buffer.from(dv.generateDocument({ date: DATE }, 3).body).toString('utf8');
    assert.match(text, /^REPORT report_0003\nCreated: 2026-11-26T/);
  });
  test('errors', () => {
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 32 + 1]) {
      throwsCode(() => dv.generateDocument({ date: DATE }, bad), 'invalid_input', /index/);
    }
    throwsCode(() => dv.generateDocument({ date: DATE }, '3'), 'invalid_input', /number/);
    throwsCode(() => dv.generateDocument({ date: '27/11/2026' }, 0), 'invalid_input', /YYYY-MM-DD/);
  });
});

describe('generateManifest, generateManifestJson', () => {
  test('the text is the golden file and parses to the object form', () => {
    const opts = { date: DATE, at: AT, count: 500 };
    const text = dv.generateManifestJson(opts);
    assert.equal(text, GOLDEN_500);
    assert.deepEqual(dv.generateManifest(opts), JSON.parse(text));
  });
  test('environment, run id and seed reach the header', () => {
    const m = dv.generateManifest({ date: DATE, at: '2026-11-27T03:00:00+01:00', count: 3, seed: 9, environment: 'staging', run_id: 'r-1' });
    assert.equal(m.environment, 'staging');
    assert.equal(m.run_id, 'r-1');
    assert.equal(m.backup_timestamp, '2026-11-27T02:00:00Z');
    assert.deepEqual(m.source, { kind: 'generator', count: 3, seed: 9 });
    assert.equal(m.status, 'complete');
  });
  test('errors', () => {
    throwsCode(() => dv.generateManifestJson({ date: DATE, at: '2026-11-27 02:00', count: 1 }), 'invalid_input', /RFC 3339/);
    throwsCode(() => dv.generateManifest({ date: DATE, at: AT, count: 1, environment: 'Prod' }), 'invalid_input', /label/);
    throwsCode(() => dv.generateManifest({ date: DATE, count: 1 }), 'invalid_input', /at/);
  });
});

describe('buildManifest, buildManifestJson', () => {
  test('assembles in id order with the summary, whatever the input order', () => {
    const docs = docs500();
    const shuffled = docs.slice().reverse();
    const m = dv.buildManifest(header(500), shuffled);
    assert.deepEqual(m, JSON.parse(GOLDEN_500));
    assert.equal(dv.buildManifestJson(header(500), shuffled), GOLDEN_500);
    assert.equal(dv.buildManifestJson(header(500), docs, []), GOLDEN_500);
  });
  test('failures make an incomplete report', () => {
    const docs = dv.generateDocuments({ date: DATE, count: 4 });
    const failed = [{ document_id: docs[1].document_id, stage: 'store', reason: 'SlowDown', attempts: 4 }];
    const m = dv.buildManifest(header(4), [docs[0], docs[2], docs[3]], failed);
    assert.equal(m.status, 'incomplete');
    assert.equal(m.total_documents, 3);
    assert.equal(m.total_failed, 1);
    assert.deepEqual(m.failed_documents, failed);
  });
  test('errors', () => {
    const docs = dv.generateDocuments({ date: DATE, count: 3 });
    throwsCode(() => dv.buildManifest(header(3), [docs[0], docs[0]]), 'duplicate_document_id', /invoice_0000/);
    throwsCode(
      () => dv.buildManifest(header(2), [docs[0], { ...docs[1], object_key: docs[0].object_key }]),
      'duplicate_object_key',
      /invoice_0000\.csv/,
    );
    throwsCode(
      () => dv.buildManifest(header(1), [{ ...docs[0], object_key: 'backups/2026-11-26/documents/x' }]),
      'key_outside_day',
    );
    throwsCode(
      () => dv.buildManifest(header(1), [{ ...docs[0], parts: { part_size: 1, count: 1, checksum: docs[0].checksum } }]),
      'bad_parts',
      /cannot hold/,
    );
    const fail = (id) => ({ document_id: id, stage: 'read', reason: 'gone', attempts: 1 });
    throwsCode(() => dv.buildManifest(header(1), [docs[0]], [fail(docs[0].document_id)]), 'stored_and_failed');
    throwsCode(() => dv.buildManifest(header(1), [], [fail('x'), fail('x')]), 'duplicate_failure');
    // Negative sizes and other malformed records name the field.
    throwsCode(() => dv.buildManifest(header(1), [{ ...docs[0], file_size: -5 }]), 'invalid_input', /documents\[0\]\.file_size/);
    throwsCode(() => dv.buildManifestJson(header(1), [{ ...docs[0], checksum: 'md5_0001' }]), 'invalid_input', /documents\[0\]\.checksum.*SHA-256/);
    throwsCode(() => dv.buildManifestJson(header(1), [{ ...docs[0], metadata: { ...docs[0].metadata, priority: 'urgent' } }]), 'invalid_input', /priority/);
    const { checksum, ...noChecksum } = docs[0];
    throwsCode(() => dv.buildManifest(header(1), [noChecksum]), 'invalid_input', /checksum/);
    throwsCode(() => dv.buildManifest(header(1), [{ ...docs[0], document_id: '../etc/passwd' }]), 'invalid_input', /document id/);
    throwsCode(() => dv.buildManifest({ ...header(1), environment: 'PROD' }, [docs[0]]), 'invalid_input', /header\.environment/);
    throwsCode(() => dv.buildManifest({ ...header(1), source: { kind: 'ftp' } }, [docs[0]]), 'invalid_input', /header/);
    throwsCode(() => dv.buildManifest(header(1), 'documents'), 'invalid_input', /documents/);
    // Records cross as their JSON text: what has none is refused by name, with the fix; unknown
    // fields are refused, not dropped; a position in text the caller never saw is not given.
    throwsCode(() => dv.buildManifest(header(1), [{ ...docs[0], file_size: 10n }]), 'invalid_input', /BigInt.*numbers rather than BigInt/);
    const cyclic = { ...docs[0] };
    cyclic.self = cyclic;
    throwsCode(() => dv.buildManifest(header(1), [cyclic]), 'invalid_input', /circular.*no cycles/s);
    throwsCode(() => dv.buildManifest(undefined, [docs[0]]), 'invalid_input', /header.*undefined/);
    throwsCode(() => dv.buildManifest(header(1), [{ ...docs[0], extra: 1 }]), 'invalid_input', /unknown field `extra`/);
    // A number a JS number cannot hold exactly was rounded before it crossed: refused, not read.
    throwsCode(() => dv.buildManifest(header(1), [{ ...docs[0], file_size: 2 ** 53 + 2 }]), 'invalid_input', /9007199254740994.*2\^53/);
    throwsCode(() => dv.generateDocuments({ date: DATE, count: 3, seed: 9007199254740993 }), 'invalid_input', /2\^53/);
    throwsCode(() => dv.buildManifest({ ...header(1), toJSON: () => undefined }, [docs[0]]), 'invalid_input', /header.*toJSON/);
    assert.throws(() => dv.buildManifest(header(1), [{ ...docs[0], file_size: -5 }]), (e) => !/line \d+ column/.test(e.message));
    throwsCode(() => dv.buildManifest(header(1), [docs[0]], [{ document_id: 'x', stage: 'upload', reason: '', attempts: 1 }]), 'invalid_input', /failures\[0\]\.stage/);
  });
});

describe('buildManifestJsonFromText', () => {
  test('records as JSON text give the bytes records as objects give', () => {
    const docs = docs500();
    const text = JSON.stringify(docs.slice().reverse());
    assert.equal(dv.buildManifestJsonFromText(header(500), text), GOLDEN_500);
    assert.equal(dv.buildManifestJsonFromText(header(500), text, '[]'), GOLDEN_500);
    const four = dv.generateDocuments({ date: DATE, count: 4 });
    const failed = [{ document_id: four[1].document_id, stage: 'store', reason: 'SlowDown', attempts: 4 }];
    const stored = [four[0], four[2], four[3]];
    assert.equal(
      dv.buildManifestJsonFromText(header(4), JSON.stringify(stored), JSON.stringify(failed)),
      dv.buildManifestJson(header(4), stored, failed),
    );
  });
  test('errors name the record, the field and the place in the text', () => {
    const docs = dv.generateDocuments({ date: DATE, count: 3 });
    const text = (records) => JSON.stringify(records);
    throwsCode(
      () => dv.buildManifestJsonFromText(header(2), text([docs[0], { ...docs[1], file_size: -5 }])),
      'invalid_input',
      /documents\[1\]\.file_size.*line 1 column/,
    );
    throwsCode(
      () => dv.buildManifestJsonFromText(header(1), text([{ ...docs[0], extra: 1 }])),
      'invalid_input',
      /documents\[0\].*unknown field `extra`/,
    );
    throwsCode(() => dv.buildManifestJsonFromText(header(1), text([docs[0]]).slice(0, -1)), 'invalid_input', /documents.*EOF/);
    throwsCode(() => dv.buildManifestJsonFromText(header(1), text([docs[0]]) + ' x'), 'invalid_input', /trailing/);
    throwsCode(() => dv.buildManifestJsonFromText(header(1), [docs[0]]), 'invalid_input', /documents.*string/);
    throwsCode(
      () => dv.buildManifestJsonFromText(header(1), text([docs[0]]), text([{ document_id: 'x', stage: 'upload', reason: '', attempts: 1 }])),
      'invalid_input',
      /failures\[0\]\.stage/,
    );
    throwsCode(() => dv.buildManifestJsonFromText(header(1), text([docs[0], docs[0]])), 'duplicate_document_id', /invoice_0000/);
  });
});

describe('parseManifest, validateManifest, manifestToJson', () => {
  const base = () => JSON.parse(GOLDEN_500);
  const text = (m) => JSON.stringify(m, null, 2);

  test('the golden manifests parse and write back byte for byte', () => {
    for (const file of ['manifest-500-2026-11-27.json', 'manifest-empty-2026-11-27.json', 'manifest-failed-2026-11-27.json']) {
      const t = golden(file).toString('utf8');
      const m = dv.parseManifest(t);
      assert.deepEqual(m, JSON.parse(t), file);
      assert.equal(dv.manifestToJson(m), t, file);
      const v = dv.validateManifest(t);
      assert.equal(v.valid, true);
      assert.equal(v.total_documents, m.total_documents);
      assert.equal(v.status, m.status);
    }
  });

  // Each broken manifest with the code parseManifest must report, and part of the message.
  const broken = [
    ['not JSON', () => 'not json', 'invalid_json', /line 1, column 2/],
    ['truncated JSON', () => GOLDEN_500.slice(0, 2000), 'invalid_json', /EOF/],
    ['empty text', () => '', 'invalid_json'],
    ['JSON that is not an object', () => '[]', 'invalid_json'],
    ['wrong schema version', () => text({ ...base(), schema_version: 2 }), 'schema_version', /schema_version is 2/],
    ['schema version as a string', () => text({ ...base(), schema_version: '1' }), 'schema_version'],
    ['no schema version', () => { const m = base(); delete m.schema_version; return text(m); }, 'missing_field', /schema_version/],
    ['negative size', () => { const m = base(); m.documents[4].file_size = -1; return text(m); }, 'invalid_json', /documents\[4\]\.file_size/],
    ['fractional size', () => { const m = base(); m.documents[0].file_size = 1.5; return text(m); }, 'invalid_json', /documents\[0\]\.file_size/],
    ['bad checksum', () => { const m = base(); m.documents[2].checksum = 'md5_0001'; return text(m); }, 'invalid_json', /documents\[2\]\.checksum/],
    ['unknown field', () => text({ ...base(), extra: 1 }), 'invalid_json', /extra/],
    ['duplicate ids', () => { const m = base(); m.documents[1].document_id = m.documents[0].document_id; return text(m); }, 'duplicate_document_id', /documents\[1\]/],
    ['duplicate keys', () => { const m = base(); m.documents[1].object_key = m.documents[0].object_key; return text(m); }, 'duplicate_object_key'],
    ['key outside the day', () => { const m = base(); m.documents[0].object_key = 'backups/2026-11-28/documents/x.csv'; return text(m); }, 'key_outside_day'],
    ['total_documents does not add up', () => text({ ...base(), total_documents: 499 }), 'count_mismatch', /total_documents/],
    ['total_failed does not add up', () => text({ ...base(), total_failed: 1 }), 'count_mismatch', /total_failed/],
    ['total bytes do not add up', () => { const m = base(); m.backup_summary.total_size_bytes += 1; return text(m); }, 'count_mismatch', /total_size_bytes/],
    ['type counts do not add up', () => { const m = base(); m.backup_summary.document_types.memo = 99; return text(m); }, 'count_mismatch', /document_types\.memo/],
    ['a department is missing', () => { const m = base(); delete m.backup_summary.departments.hr; return text(m); }, 'count_mismatch', /departments\.hr/],
    ['a removed document', () => { const m = base(); m.documents.pop(); return text(m); }, 'count_mismatch'],
    ['status disagrees with failures', () => text({ ...base(), status: 'incomplete' }), 'status_mismatch'],
    ['failure reported twice', () => {
      const m = base();
      const f = { document_id: 'x', stage: 'read', reason: 'r', attempts: 1 };
      Object.assign(m, { status: 'incomplete', total_failed: 2, failed_documents: [f, f] });
      return text(m);
    }, 'invalid_failure', /failed_documents\[1\]/],
  ];
  for (const [name, make, code, re] of broken) {
    test(`parseManifest rejects: ${name} (${code})`, () => {
      const t = make();
      throwsCode(() => dv.parseManifest(t), code, re);
      const v = dv.validateManifest(t);
      assert.equal(v.valid, false);
      assert.equal(v.code, code);
      assert.ok(v.message.length > 10);
    });
  }

  test('manifestToJson validates the object it is given', () => {
    const m = base();
    m.total_documents = 1;
    throwsCode(() => dv.manifestToJson(m), 'count_mismatch');
    const d = base();
    d.documents[3].file_size = -7;
    throwsCode(() => dv.manifestToJson(d), 'invalid_input', /manifest\.documents\[3\]\.file_size/);
  });

  test('text arguments must be strings', () => {
    throwsCode(() => dv.parseManifest(42), 'invalid_input', /string/);
    throwsCode(() => dv.validateManifest(undefined), 'invalid_input', /string/);
    throwsCode(() => dv.parseManifest(Buffer.from(GOLDEN_500)), 'invalid_input', /string/);
  });
});

describe('summarize', () => {
  test('the summary the manifest carries', () => {
    assert.deepEqual(dv.summarize(docs500()), JSON.parse(GOLDEN_500).backup_summary);
    assert.deepEqual(dv.summarize([]), { document_types: {}, departments: {}, total_size_bytes: 0 });
  });
  test('errors', () => {
    throwsCode(() => dv.summarize([{}]), 'invalid_input', /documents\[0\]/);
    throwsCode(() => dv.summarize(null), 'invalid_input');
  });
});

describe('verifyObjects', () => {
  const count = 6;
  const manifest = dv.generateManifest({ date: DATE, at: AT, count });
  const listing = () =>
    Array.from({ length: count }, (_, i) => {
      const { document, body } = dv.generateDocument({ date: DATE }, i);
      return { key: document.object_key, size: body.length, stored_checksum: { sha256: dv.sha256Checksum(body) } };
    });

  test('a complete store verifies clean', () => {
    const r = dv.verifyObjects(manifest, listing());
    assert.deepEqual(r, {
      expected: count, verified: count, verified_by_read: 0, missing: [], extra: [], size_mismatch: [],
      checksum_mismatch: [], encryption_mismatch: [], retention_mismatch: [], legal_holds: 0, not_regular: [],
      unreadable: [], unverified: [], require_stored_checksums: false,
    });
  });
  test('missing, extra, resized, different and unverifiable objects', () => {
    const objects = listing();
    const byKey = Object.fromEntries(objects.map((o) => [o.key.split('/').pop(), o]));
    const removed = objects.indexOf(byKey['invoice_0000.csv']);
    objects.splice(removed, 1);
    byKey['receipt_0001.csv'].size += 1;
    byKey['contract_0002.txt'].stored_checksum = { sha256: `sha256:${'0'.repeat(64)}` };
    byKey['report_0003.txt'].stored_checksum = null;
    delete byKey['memo_0004.txt'].stored_checksum;
    objects.push({ key: 'backups/2026-11-27/documents/stray.bin', size: 1, stored_checksum: null });
    objects.push({ key: 'backups/2026-11-26/documents/other-day.bin', size: 1 });
    const r = dv.verifyObjects(manifest, objects);
    assert.equal(r.verified, 1);
    assert.deepEqual(r.missing, ['backups/2026-11-27/documents/invoice_0000.csv']);
    assert.deepEqual(r.extra, ['backups/2026-11-27/documents/stray.bin']);
    assert.equal(r.size_mismatch[0].document_id, 'receipt_0001');
    assert.equal(r.size_mismatch[0].actual, r.size_mismatch[0].expected + 1);
    assert.equal(r.checksum_mismatch[0].document_id, 'contract_0002');
    assert.equal(r.checksum_mismatch[0].source, 'store');
    assert.deepEqual(r.unverified, ['backups/2026-11-27/documents/memo_0004.txt', 'backups/2026-11-27/documents/report_0003.txt']);
    // Unverified objects become problems only when stored checksums are required.
    const strict = dv.verifyObjects(manifest, objects, null, true);
    assert.equal(strict.require_stored_checksums, true);
    assert.deepEqual(strict.unverified, r.unverified);
  });
  test('bytes read back verify an object the store keeps no checksum for', () => {
    const objects = Array.from({ length: count }, (_, i) => {
      const { document, body } = dv.generateDocument({ date: DATE }, i);
      return { key: document.object_key, size: body.length, read_checksum: dv.sha256Checksum(body) };
    });
    const r = dv.verifyObjects(manifest, objects, null, true);
    assert.equal(r.verified, count);
    assert.equal(r.verified_by_read, count);
    assert.deepEqual(r.unverified, []);
  });
  test('objects not encrypted with the expected key', () => {
    const key = 'arn:aws:kms:us-east-1:123456789012:key/k1';
    const objects = listing().map((o) => ({ ...o, encryption: { algorithm: 'aws:kms', kms_key_id: 'k1' } }));
    objects[1].encryption = { algorithm: null, kms_key_id: null };
    objects[2].encryption = { algorithm: 'aws:kms', kms_key_id: 'other' };
    delete objects[3].encryption;
    const r = dv.verifyObjects(manifest, objects, { mode: 'aws:kms', key_id: key });
    assert.deepEqual(r.encryption_mismatch.map((m) => [m.key.split('/').pop(), m.actual]).sort(),
      [[objects[1].key.split('/').pop(), 'none'], [objects[2].key.split('/').pop(), 'aws:kms key other']].sort());
    assert.equal(r.verified, count);
    // Without an expectation, encryption is not judged.
    assert.deepEqual(dv.verifyObjects(manifest, objects).encryption_mismatch, []);
  });
  test('objects stored in parts are checked against their parts checksum', () => {
    // A manifest whose first document went up in 2 parts: S3 reports `<base64>-2` for it.
    const parted = structuredClone(manifest);
    const doc = parted.documents[0];
    const partsChecksum = dv.sha256Checksum(new TextEncoder().encode('digests of the parts'));
    doc.parts = { part_size: Math.ceil(doc.file_size / 2), count: 2, checksum: partsChecksum };
    const objects = listing();
    const i = objects.findIndex((o) => o.key === doc.object_key);
    objects[i] = { ...objects[i], stored_checksum: { sha256: partsChecksum, parts: 2 } };
    assert.equal(dv.verifyObjects(parted, objects).verified, count);
    const other = dv.sha256Checksum(new TextEncoder().encode('other parts'));
    objects[i].stored_checksum = { sha256: other, parts: 2 };
    const r = dv.verifyObjects(parted, objects);
    assert.equal(r.verified, count - 1);
    assert.equal(r.checksum_mismatch[0].actual, `${other} of 2 parts`);
    // Other parts than the manifest records (copied by another tool): S3's checksum is of
    // those parts and says nothing either way; the object is unverified, not altered.
    objects[i].stored_checksum = { sha256: partsChecksum, parts: 3 };
    const copied = dv.verifyObjects(parted, objects);
    assert.deepEqual([copied.verified, copied.checksum_mismatch, copied.unverified], [count - 1, [], [doc.object_key]]);
    // Bytes read back are judged by the body's checksum only, never by the parts checksum.
    objects[i] = { key: doc.object_key, size: doc.file_size, read_checksum: partsChecksum };
    const read = dv.verifyObjects(parted, objects);
    assert.equal(read.checksum_mismatch[0].source, 'read');
    // S3's form of a parts checksum converts as is.
    const b64 = Buffer.from(partsChecksum.slice(7), 'hex').toString('base64');
    assert.deepEqual(dv.checksumFromS3(`${b64}-2`), { sha256: partsChecksum, parts: 2 });
    // Parts that cannot hold the body are refused with the core's message.
    throwsCode(() => dv.verifyObjects({ ...parted, documents: [{ ...doc, parts: { ...doc.parts, count: 9 } }, ...parted.documents.slice(1)] }, objects),
      'bad_parts', /cannot hold file_size/);
  });
  test('errors', () => {
    throwsCode(() => dv.verifyObjects({ ...manifest, total_documents: 1 }, []), 'count_mismatch');
    throwsCode(() => dv.verifyObjects(manifest, [{ key: 'k', size: -1 }]), 'invalid_input', /observed\[0\]\.size/);
    throwsCode(() => dv.verifyObjects(manifest, [{ key: 'k', size: 1, read_checksum: 'abc' }]), 'invalid_input', /observed\[0\]\.read_checksum/);
    throwsCode(() => dv.verifyObjects(manifest, [{ key: 'k', size: 1, checksum: 'sha256:00' }]), 'invalid_input', /unknown field `checksum`/);
  });
});

describe('compareManifests', () => {
  const a = dv.generateManifest({ date: DATE, at: AT, count: 5 });
  test('identical manifests', () => {
    assert.deepEqual(dv.compareManifests(a, a), { added: [], removed: [], changed: [], unchanged: 5 });
  });
  test('added, removed and changed documents, with the fields', () => {
    const b = dv.generateManifest({ date: DATE, at: AT, count: 7 });
    assert.deepEqual(dv.compareManifests(a, b).added, ['invoice_0005', 'receipt_0006']);
    assert.deepEqual(dv.compareManifests(b, a).removed, ['invoice_0005', 'receipt_0006']);
    const docs = a.documents.map(clone);
    docs[0].file_size += 1;
    docs[0].checksum = `sha256:${'1'.repeat(64)}`;
    docs[1].metadata.priority = docs[1].metadata.priority === 'high' ? 'low' : 'high';
    const c = dv.buildManifest(header(5), docs);
    const diff = dv.compareManifests(a, c);
    assert.deepEqual(diff.changed, [
      { document_id: docs[0].document_id, fields: ['file_size', 'checksum'] },
      { document_id: docs[1].document_id, fields: ['metadata'] },
    ]);
    assert.equal(diff.unchanged, 3);
  });
  test('errors', () => {
    throwsCode(() => dv.compareManifests(a, { ...a, schema_version: 2 }), 'schema_version');
    throwsCode(() => dv.compareManifests({}, a), 'invalid_input', /before/);
  });
});

describe('planUploads', () => {
  const docs = dv.generateDocuments({ date: DATE, count: 3 });
  test('every document PUT in id order, the manifest key last', () => {
    const plan = dv.planUploads({ prefix: 'team-a', environment: 'prod', encryption: { mode: 'aws:kms', key_id: 'alias/docvault' } }, DATE, docs.slice().reverse());
    assert.deepEqual(plan.documents.map((p) => p.key), docs.map((d) => `team-a/${d.object_key}`).sort());
    const put = plan.documents.find((p) => p.key.endsWith(docs[0].object_key));
    assert.equal(put.content_type, docs[0].content_type);
    assert.equal(put.content_length, docs[0].file_size);
    assert.equal(dv.checksumFromBase64(put.checksum_sha256), docs[0].checksum);
    assert.equal(put.metadata['document-id'], docs[0].document_id);
    assert.equal(put.metadata['backup-date'], DATE);
    assert.match(put.tagging, /Environment=prod/);
    assert.deepEqual(put.encryption, { mode: 'aws:kms', key_id: 'alias/docvault' });
    assert.equal(put.if_none_match, false);
    assert.equal(plan.manifest_key, 'team-a/backups/2026-11-27/manifest.json');
    assert.equal(plan.manifest_last, true);
  });
  test('defaults: no prefix, no encryption header', () => {
    const plan = dv.planUploads({ environment: 'dev' }, DATE, docs);
    assert.equal(plan.documents[0].key, docs[2].object_key);
    assert.deepEqual(plan.documents[0].encryption, { mode: 'none' });
    assert.equal(plan.manifest_key, 'backups/2026-11-27/manifest.json');
  });
  test('errors', () => {
    throwsCode(() => dv.planUploads({ prefix: '../up', environment: 'dev' }, DATE, docs), 'invalid_prefix', /\.\./);
    throwsCode(() => dv.planUploads({ environment: 'dev' }, DATE, [docs[0], docs[0]]), 'duplicate_document_id');
    throwsCode(() => dv.planUploads({ environment: 'dev' }, '2026-13-01', docs), 'invalid_input', /date/);
    throwsCode(() => dv.planUploads({ environment: 'dev', encryption: { mode: 'aes' } }, DATE, docs), 'invalid_input', /options/);
    throwsCode(() => dv.planUploads({}, DATE, docs), 'invalid_input', /environment/);
  });
});

describe('checksums', () => {
  test('sha256Checksum is sha256sum', () => {
    const abc = 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    assert.equal(dv.sha256Checksum(new TextEncoder().encode('abc')), abc);
    assert.equal(dv.sha256Checksum(Buffer.from('abc')), abc);
    assert.equal(dv.checksumFromBase64('ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0='), abc);
  });
  test('errors', () => {
    throwsCode(() => dv.sha256Checksum('abc'), 'invalid_input', /Uint8Array/);
    throwsCode(() => dv.checksumFromBase64('not base64!'), 'invalid_input', /base64/);
    throwsCode(() => dv.checksumFromBase64('YWJj'), 'invalid_input', /32-byte/);
  });
});

test('numbers a JS number cannot hold are refused, not rounded', () => {
  const m = JSON.parse(golden('manifest-empty-2026-11-27.json').toString('utf8'));
  const text = JSON.stringify(m).replace('"seed":0', '"seed":18446744073709551615');
  assert.equal(dv.validateManifest(text).valid, true);
  throwsCode(() => dv.parseManifest(text), 'unrepresentable', /2\^53/);
});

test('hostile arguments: every export answers or throws a DocvaultError, never anything else', () => {
  const doc = docs500()[0];
  const junk = [
    undefined, null, true, 0, -1, 1.5, NaN, Infinity, 2 ** 60, 10n, '', 'x', '{', Symbol('s'),
    [], [null], [{}], [[]], {}, { date: DATE }, { date: DATE, count: 1e9 }, { date: DATE, count: 3, end: 2 ** 40 },
    new Uint8Array(3), () => 1, new Map([['a', 1]]), { ...doc, file_size: 2 ** 64 }, [doc, { ...doc, type: 7 }],
    { backup_date: DATE }, JSON.parse(GOLDEN_500), { ...JSON.parse(GOLDEN_500), documents: 'no' },
  ];
  let calls = 0;
  for (const name of EXPORTS) {
    const arity = Math.max(dv[name].length, 1);
    for (const value of junk) {
      for (let position = 0; position < arity; position++) {
        const args = Array.from({ length: arity }, (_, i) => (i === position ? value : junk[(i * 7 + 3) % junk.length]));
        calls++;
        try {
          dv[name](...args);
        } catch (e) {
          assert.equal(e?.name, 'DocvaultError', `${name}(${position}: ${String(value)}) threw ${e}`);
          assert.ok(CODES.includes(e.code), `${name}: unknown code ${e.code}`);
        }
      }
    }
  }
  // The module still works after all of that.
  assert.equal(dv.generateManifestJson({ date: DATE, at: AT, count: 500 }), GOLDEN_500);
  assert.ok(calls > 500);
});
