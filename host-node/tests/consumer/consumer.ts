// A small TypeScript consumer of the installed package, type-checked with `tsc --noEmit
// --strict`. Each `@ts-expect-error` proves a type is precise: if the .d.ts said `any`
// there, the line would compile, the directive would be unused, and tsc would fail.
import {
  buildManifest,
  compareManifests,
  generateDocument,
  generateDocuments,
  parseManifest,
  planUploads,
  summarize,
  validateManifest,
  verifyObjects,
  type BackupSummary,
  type DocumentRecord,
  type DocvaultError,
  type DocvaultErrorCode,
  type FailedDocument,
  type Manifest,
  type ManifestDiff,
  type ManifestHeader,
  type UploadPlan,
  type VerifyReport,
} from 'docvault';

const docs: DocumentRecord[] = generateDocuments({ date: '2026-11-27', count: 5, seed: 1 });
const header: ManifestHeader = {
  backup_date: '2026-11-27',
  backup_timestamp: '2026-11-27T02:00:00Z',
  environment: 'prod',
  source: { kind: 'generator', count: 5, seed: 1 },
};
const failures: FailedDocument[] = [{ document_id: 'x', stage: 'read', reason: 'gone', attempts: 1 }];
const manifest: Manifest = buildManifest(header, docs, failures);
const total: number = manifest.total_documents;
const summary: BackupSummary = summarize(docs);
const invoices: number | undefined = summary.document_types['invoice'];
const diff: ManifestDiff = compareManifests(manifest, parseManifest('{}'));
const report: VerifyReport = verifyObjects(manifest, [{ key: 'k', size: 1, stored_checksum: null }]);
const plan: UploadPlan = planUploads({ environment: 'prod', encryption: { mode: 'aws:kms', key_id: 'alias/x' } }, '2026-11-27', docs);
const body: Uint8Array = generateDocument({ date: '2026-11-27' }, 0).body;
const firstField: 'type' | 'created_date' | 'file_size' | 'checksum' | 'content_type' | 'source' | 'metadata' | undefined =
  diff.changed[0]?.fields[0];

const result = validateManifest('{}');
if (result.valid) {
  const status: 'complete' | 'incomplete' = result.status;
  void status;
} else {
  const code: DocvaultErrorCode = result.code;
  void code;
}

try {
  parseManifest('');
} catch (e) {
  const err = e as DocvaultError;
  const code: DocvaultErrorCode = err.code;
  // @ts-expect-error: codes are a closed union
  const wrong: typeof code = 'no_such_code';
  void wrong;
}

// @ts-expect-error: a count is a number, not a string
const notString: string = manifest.total_documents;
// @ts-expect-error: priority is low | medium | high
const badPriority: DocumentRecord['metadata']['priority'] = 'urgent';
// @ts-expect-error: the header needs a source
buildManifest({ backup_date: '2026-11-27', backup_timestamp: 'x', environment: 'prod' }, docs);
// @ts-expect-error: documents are records, not strings
summarize(['invoice_0000']);
// @ts-expect-error: a generated document's body is bytes
const bodyText: string = generateDocument({ date: '2026-11-27' }, 0).body;
// @ts-expect-error: encryption modes are none | aws:kms
planUploads({ environment: 'prod', encryption: { mode: 'aes' } }, '2026-11-27', docs);
// @ts-expect-error: the report's lists hold strings
const missing: number[] = report.missing;
// @ts-expect-error: plans list ObjectPuts
const key: number = plan.documents[0].key;

void [total, invoices, body, firstField, notString, badPriority, bodyText, missing, key];
