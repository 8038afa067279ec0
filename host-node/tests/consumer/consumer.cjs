// Run inside a fresh npm project that installed the packed tarball: `require('docvault')` as a
// user would, and do a small audit of a golden manifest with it.
//   node consumer.cjs path/to/manifest-500-2026-11-27.json
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const docvault = require('docvault');

const text = fs.readFileSync(process.argv[2], 'utf8');
const manifest = docvault.parseManifest(text);
assert.equal(docvault.manifestToJson(manifest), text);

// Rebuild the stored day from the generator and verify it against the manifest.
const observed = manifest.documents.map((d, i) => {
  const { document, body } = docvault.generateDocument({ date: manifest.backup_date }, i);
  return { key: document.object_key, size: body.length, read_checksum: docvault.sha256Checksum(body) };
});
const report = docvault.verifyObjects(manifest, observed);
assert.equal(report.verified, manifest.total_documents);

try {
  docvault.parseManifest(text.replace('"schema_version": 1', '"schema_version": 9'));
  assert.fail('a future schema version was accepted');
} catch (e) {
  assert.equal(e.name, 'DocvaultError');
  assert.equal(e.code, 'schema_version');
}

const pkg = require('docvault/package.json');
console.log(
  `docvault ${pkg.version} (CommonJS): ${manifest.backup_date} ${manifest.status}, ` +
    `${report.verified}/${report.expected} documents verified, ` +
    `${manifest.backup_summary.total_size_bytes} bytes`,
);
