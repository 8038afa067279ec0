// The same package through ESM named imports (Node's CommonJS interop).
import assert from 'node:assert/strict';
import { generateManifestJson, validateManifest, version } from 'docvault';

const text = generateManifestJson({ date: '2026-11-27', at: '2026-11-27T02:00:00Z', count: 500 });
const result = validateManifest(text);
assert.equal(result.valid, true);
console.log(`docvault ${version()} (ESM): generated and validated ${result.valid && result.total_documents} documents`);
