//! # docvault-node
//!
//! The npm package `docvault`: [`docvault_core`] compiled to `wasm32-unknown-unknown` and bound
//! to JavaScript with wasm-bindgen (`wasm-bindgen --target nodejs`).
//!
//! **Contract.** This crate is a thin edge and decides nothing: every function converts its
//! arguments, calls the core once, and converts the result.
//!
//! * Data crosses as plain JS objects shaped exactly like the manifest's JSON (snake_case keys,
//!   maps as plain objects, never `Map`s), so `JSON.parse(text)` and `parseManifest(text)` give
//!   the same shape. Canonical manifest bytes are available as strings, identical to the CLI's.
//! * Every error reaches JS as an `Error` named `DocvaultError` with the core's message and a
//!   stable `code` (the union `DocvaultErrorCode` in the `.d.ts`), mapped in one place
//!   (`Failure`). Nothing panics on bad input: every path returns a `Result`, sizes that could
//!   exhaust the 4 GiB wasm32 memory are refused up front.
//! * The TypeScript types are written by hand below (`TYPES`) and attached to every argument and
//!   result with `unchecked_param_type` / `unchecked_return_type`; the `.d.ts` has no `any`.
//!   `tests/consumer/consumer.ts` type-checks them against real calls with `tsc --strict`.

use std::fmt;

use docvault_core::layout::PrefixError;
use docvault_core::verify::{self, ObservedObject, VerifyPolicy};
use docvault_core::{
    AssembleError, BackupDate, BackupStatus, BackupSummary, Document, Encryption, FailedDocument,
    Generator, GeneratorSpec, KeyPrefix, Label, Manifest, ManifestError, ManifestForm,
    ManifestHeader, PlanError, PlanOptions, SCHEMA_VERSION, Sha256Digest, SourceDescription,
    Timestamp, diff, plan,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

/// Most documents one call generates: a bigger day is generated in ranges (`start`, `end`), so
/// no call can exhaust the 4 GiB of a wasm32 memory.
const MAX_DOCUMENTS_PER_CALL: u64 = 1_000_000;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A calendar day, `YYYY-MM-DD` (e.g. `2026-11-27`). */
export type IsoDate = string;
/** An RFC 3339 timestamp with a zone (e.g. `2026-11-27T02:00:00Z`); written back in UTC. */
export type Rfc3339 = string;
/** `sha256:` followed by 64 lowercase hex digits. */
export type Checksum = string;
/** 1 to 64 characters from `a-z`, `0-9`, `-`, `_`: a type, department or environment. */
export type LabelText = string;

export type Priority = "low" | "medium" | "high";
export type FailureStage = "read" | "store" | "verify";
export type BackupStatus = "complete" | "incomplete";

/** A document's business metadata. */
export interface DocumentMetadata {
  department: LabelText;
  priority: Priority;
  confidential: boolean;
}

/** One stored document, as a manifest lists it (everything but its body). */
export interface DocumentRecord {
  /** Identity within the day; also its path below `documents/`. */
  document_id: string;
  type: LabelText;
  created_date: Rfc3339;
  /** Body size in bytes (a non-negative integer). */
  file_size: number;
  checksum: Checksum;
  content_type: string;
  /** `backups/{date}/documents/...`, relative to the backup root. */
  object_key: string;
  /** Where the body came from, when it came from somewhere. */
  source?: string;
  /** For a body stored in parts (an S3 multipart upload): how the store's checksum is formed. */
  parts?: UploadParts;
  metadata: DocumentMetadata;
}

/**
 * A body stored in parts: S3 keeps the SHA-256 of the parts' SHA-256 digests (reported as
 * `<base64>-<count>`) instead of the body's SHA-256.
 */
export interface UploadParts {
  /** Bytes per part (the last may be shorter). */
  part_size: number;
  /** Number of parts: `ceil(file_size / part_size)`, at least 1. */
  count: number;
  /** SHA-256 of the concatenated part digests. */
  checksum: Checksum;
}

/** A document that was found but not stored, and why. */
export interface FailedDocument {
  document_id: string;
  source?: string;
  stage: FailureStage;
  reason: string;
  attempts: number;
}

/** Where a run's documents came from. */
export type SourceDescription =
  | { kind: "generator"; count: number; seed: number }
  | { kind: "directory"; path: string }
  | { kind: "s3"; uri: string };

/** What a run knows before it looks at any document. */
export interface ManifestHeader {
  backup_date: IsoDate;
  /** When the run happened: passed in, the package reads no clock. */
  backup_timestamp: Rfc3339;
  environment: LabelText;
  run_id?: string;
  source: SourceDescription;
}

/** Counts by type and department and total size of the stored documents. */
export interface BackupSummary {
  document_types: Record<string, number>;
  departments: Record<string, number>;
  total_size_bytes: number;
}

/** How long a day is kept, and how its objects are locked (when a policy was configured). */
export interface DayRetention {
  /** The day's class on the fixed calendar (yearly on 1 January, monthly on a 1st, weekly on
   * the policy's weekday, else daily). */
  class: "daily" | "weekly" | "monthly" | "yearly";
  /** The last date the day must exist. */
  retain_until: IsoDate;
  lock_mode: "none" | "governance" | "compliance";
  legal_hold: boolean;
}

/** One day's backup manifest (schema version 1). */
export interface Manifest {
  schema_version: 1;
  backup_date: IsoDate;
  backup_timestamp: Rfc3339;
  environment: LabelText;
  run_id?: string;
  status: BackupStatus;
  source: SourceDescription;
  /** Absent when the day was written without a retention policy. */
  retention?: DayRetention;
  total_documents: number;
  total_failed: number;
  backup_summary: BackupSummary;
  /** Sorted by `document_id`. */
  documents: DocumentRecord[];
  /** Sorted by `document_id`. */
  failed_documents: FailedDocument[];
}

/** A generated day: document `i` depends only on `(date, seed, i)`. */
export interface DaySpec {
  date: IsoDate;
  /** Generator seed, a non-negative safe integer (default 0). */
  seed?: number;
}

/** Which documents of a generated day to produce: indices `[start ?? 0, end ?? count)`. */
export interface GenerateOptions extends DaySpec {
  /** Documents in the day. */
  count: number;
  start?: number;
  end?: number;
}

/** A generated day's manifest, as `docvault manifest --generate` prints it. */
export interface GenerateManifestOptions extends DaySpec {
  count: number;
  /** The backup time. */
  at: Rfc3339;
  /** Default `prod`. */
  environment?: LabelText;
  run_id?: string;
}

/** One generated document with its body. */
export interface GeneratedDocument {
  document: DocumentRecord;
  body: Uint8Array;
}

/** Server-side encryption as a store reports it (HeadObject). */
export interface ObservedEncryption {
  /** `aws:kms`, `AES256`, or `null` for none. */
  algorithm: string | null;
  kms_key_id: string | null;
}

/** A checksum as a store reports it (S3's `x-amz-checksum-sha256`, see `checksumFromS3`). */
export interface StoreChecksum {
  /** Of the body, or for an object stored in parts of the parts' digests. */
  sha256: Checksum;
  /** For an object stored in parts, the count the store reports with it (`<base64>-<count>`). */
  parts?: number | null;
}

/** One object as a store (or a directory) holds it, key relative to the backup root. */
export interface ObservedObject {
  key: string;
  size: number;
  /** The checksum the store keeps and reports for it, if any. */
  stored_checksum?: StoreChecksum | null;
  /** The SHA-256 of its bytes, when the caller read them back. */
  read_checksum?: Checksum | null;
  /** Why reading it back failed, when the caller tried. */
  read_error?: string | null;
  /** What it is, when it is not a regular object (a directory's link, FIFO). */
  not_regular?: string | null;
  /** Reported encryption; absent when not asked (then not judged). */
  encryption?: ObservedEncryption | null;
  /** Reported Object Lock, legal hold and `Retention` tag; absent when not asked (then not
   * judged). */
  retention?: ObservedRetention | null;
}

/** Object Lock, legal hold and retention tag as the store reports them for one object. */
export interface ObservedRetention {
  lock_mode: "none" | "governance" | "compliance";
  retain_until?: Rfc3339 | null;
  legal_hold?: boolean;
  /** The object's `Retention` tag, if it has one. */
  class_tag?: string | null;
}

/** An object locked or tagged for less than its manifest's retention. */
export interface RetentionMismatch {
  document_id: string;
  key: string;
  expected: string;
  actual: string;
}

/** An object of another size than its manifest entry. */
export interface SizeMismatch {
  document_id: string;
  key: string;
  expected: number;
  actual: number;
}

/** An object whose bytes are not its manifest entry's. */
export interface ChecksumMismatch {
  document_id: string;
  key: string;
  /** `store`: the store's own checksum; `read`: the bytes read back. */
  source: "store" | "read";
  expected: string;
  actual: string;
}

/** An object not encrypted as required. */
export interface EncryptionMismatch {
  document_id: string;
  key: string;
  expected: string;
  actual: string;
}

/**
 * A manifest compared with a store's listing. Every list is sorted by key. `unverified`
 * objects (no stored checksum, not read) are not problems unless `require_stored_checksums`.
 */
export interface VerifyReport {
  expected: number;
  verified: number;
  verified_by_read: number;
  missing: string[];
  extra: string[];
  size_mismatch: SizeMismatch[];
  checksum_mismatch: ChecksumMismatch[];
  /** Objects not encrypted as `verifyObjects`' `expected` asks. */
  encryption_mismatch: EncryptionMismatch[];
  /** Objects locked or tagged for less than the manifest's retention. */
  retention_mismatch: RetentionMismatch[];
  /** Objects under legal hold (reported, not a problem). */
  legal_holds: number;
  not_regular: { key: string; kind: string }[];
  unreadable: { key: string; error: string }[];
  unverified: string[];
  require_stored_checksums: boolean;
}

export type ChangedField =
  | "type" | "created_date" | "file_size" | "checksum" | "content_type" | "source" | "metadata";

export interface ChangedDocument {
  document_id: string;
  fields: ChangedField[];
}

/** What changed between two manifests. Lists are sorted by id. */
export interface ManifestDiff {
  added: string[];
  removed: string[];
  changed: ChangedDocument[];
  unchanged: number;
}

/** Server-side encryption requested on every PUT. */
export type Encryption =
  | { mode: "none" }
  | { mode: "aws:kms"; key_id?: string | null };

export interface PlanOptions {
  /** Key prefix below the bucket (`""` or `team-a/`); default `""`. */
  prefix?: string;
  environment: LabelText;
  /** Default `{ mode: "none" }`. */
  encryption?: Encryption;
}

/** How to store one object. */
export interface ObjectPut {
  key: string;
  content_type: string;
  content_length: number;
  /** Base64 SHA-256 for `x-amz-checksum-sha256`. */
  checksum_sha256: string;
  /** `x-amz-meta-*`. */
  metadata: Record<string, string>;
  /** `x-amz-tagging`. */
  tagging: string;
  encryption: Encryption;
  /** Upload in parts of this layout (absent: one PUT). */
  parts?: UploadParts;
  /** Send `If-None-Match: *`. */
  if_none_match: boolean;
  /** Send `If-Match` with this entity tag (the day's lease; absent for documents). */
  if_match?: string;
}

/** A whole day's uploads: every document PUT, then the manifest key, written last. */
export interface UploadPlan {
  documents: ObjectPut[];
  manifest_key: string;
  manifest_last: boolean;
}

/** Codes of a manifest that `parseManifest` (or any function given a manifest) rejects. */
export type ManifestErrorCode =
  | "invalid_json"
  | "missing_field"
  | "schema_version"
  | "duplicate_document_id"
  | "duplicate_object_key"
  | "key_outside_day"
  | "unsafe_key"
  | "key_too_long"
  | "bad_parts"
  | "invalid_failure"
  | "count_mismatch"
  | "status_mismatch"
  | "retention_mismatch"
  | "parted_manifest"
  | "parted_not_complete"
  | "bad_parts_list"
  | "bad_part_key"
  | "part_missing"
  | "part_altered"
  | "part_invalid"
  | "part_mismatch";

/** A complete day in the form for days too large for one JSON document (`manifestToParts`). */
export interface ManifestInParts {
  /** The root: the day's `manifest.json`, written last. */
  root: string;
  /** Each part, in order, with its key relative to the backup root; written first. */
  parts: { key: string; text: string }[];
}

/** Every `code` a `DocvaultError` can carry. */
export type DocvaultErrorCode =
  | ManifestErrorCode
  | "stored_and_failed"
  | "duplicate_failure"
  | "empty_failure_id"
  | "invalid_input"
  | "invalid_prefix"
  | "unrepresentable";

/** What every function of this package throws: an `Error` with a stable `code`. */
export interface DocvaultError extends Error {
  name: "DocvaultError";
  code: DocvaultErrorCode;
}

/** `validateManifest`'s answer. */
export type ValidationResult =
  | {
      valid: true;
      status: BackupStatus;
      backup_date: IsoDate;
      total_documents: number;
      total_failed: number;
    }
  | { valid: false; code: ManifestErrorCode; message: string };
"#;

/// The one error mapper: everything that fails on the way to or from the core.
#[derive(Debug)]
enum Failure {
    /// The core rejected a manifest.
    Manifest(ManifestError),
    /// The core refused to assemble a manifest.
    Assemble(AssembleError),
    /// The core refused a plan.
    Plan(PlanError),
    /// A key prefix that cannot be used.
    Prefix(PrefixError),
    /// A JS argument does not have the documented shape.
    Input { argument: String, detail: String },
    /// A result holds a number JS cannot represent exactly (an integer above 2^53).
    Output(String),
}

impl Failure {
    fn input(argument: &str, detail: impl fmt::Display) -> Self {
        Self::Input {
            argument: argument.to_owned(),
            detail: detail.to_string(),
        }
    }

    /// The stable `code` (listed in the `.d.ts` as `DocvaultErrorCode`).
    fn code(&self) -> &'static str {
        match self {
            Self::Manifest(e) => e.code(),
            Self::Assemble(e) => e.code(),
            Self::Plan(e) => match e {
                PlanError::AlreadyAdmitted(_) | PlanError::Assemble(_) => e.code(),
                // Run-state errors (`BackupRun`), which no export reaches.
                _ => "invalid_input",
            },
            Self::Prefix(_) => "invalid_prefix",
            Self::Input { .. } => "invalid_input",
            Self::Output(_) => "unrepresentable",
        }
    }
}

/// serde-wasm-bindgen's errors are JS `Error`s and print as `Error: ...`.
fn js_error_text(e: &serde_wasm_bindgen::Error) -> String {
    let text = e.to_string();
    text.strip_prefix("Error: ").unwrap_or(&text).to_owned()
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Manifest(e) => e.fmt(f),
            Self::Assemble(e) => e.fmt(f),
            Self::Plan(e) => e.fmt(f),
            Self::Prefix(e) => e.fmt(f),
            Self::Input { argument, detail } => write!(f, "`{argument}` is not usable: {detail}"),
            Self::Output(detail) => write!(
                f,
                "the result cannot be given to JavaScript exactly: {detail}; numbers above \
                 2^53 (Number.MAX_SAFE_INTEGER) do not fit a JS number"
            ),
        }
    }
}

impl From<Failure> for JsValue {
    fn from(failure: Failure) -> Self {
        let error = js_sys::Error::new(&failure.to_string());
        error.set_name("DocvaultError");
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&error, &"code".into(), &failure.code().into());
        error.into()
    }
}

impl From<ManifestError> for Failure {
    fn from(e: ManifestError) -> Self {
        Self::Manifest(e)
    }
}

impl From<AssembleError> for Failure {
    fn from(e: AssembleError) -> Self {
        Self::Assemble(e)
    }
}

impl From<PlanError> for Failure {
    fn from(e: PlanError) -> Self {
        Self::Plan(e)
    }
}

impl From<PrefixError> for Failure {
    fn from(e: PrefixError) -> Self {
        Self::Prefix(e)
    }
}

type Result<T, E = Failure> = std::result::Result<T, E>;

/// Reads argument `argument` from a JS value, naming the offending field on error
/// (`documents[3].file_size`).
///
/// The value crosses as its `JSON.stringify` text, read in one pass ([`from_json_text`]): the
/// engine writes the text far faster than the fields can be read one by one through the JS
/// API (measured in BENCHMARKS.md), and the text carries every property, so
/// `deny_unknown_fields` sees a misspelt or outdated field (a caller's `checksum` where the
/// type now has `stored_checksum` would otherwise silently mean "no checksum").
fn from_js<T: DeserializeOwned>(argument: &'static str, value: JsValue) -> Result<T> {
    let text = js_sys::JSON::stringify(&value).map_err(|e| {
        let reason = e
            .dyn_ref::<js_sys::Error>()
            .and_then(|e| e.message().as_string())
            .unwrap_or_else(|| String::from("it cannot be written as JSON"));
        let fix = if reason.contains("Invalid string length") {
            "it is too large to cross as one value: pass records that are JSON text to \
             `buildManifestJsonFromText`, or fewer records per call"
        } else {
            "pass plain data (numbers rather than BigInt, no cycles, no getters that throw)"
        };
        Failure::input(argument, format!("{reason}: {fix}"))
    })?;
    // `undefined`, functions, symbols and objects whose `toJSON` gives nothing have no text.
    let Some(text) = text.as_string() else {
        return Err(Failure::input(
            argument,
            format!(
                "it has no JSON value (got {}; a `toJSON` that gives nothing counts as none)",
                type_name(&value)
            ),
        ));
    };
    if let Some(integer) = first_unsafe_integer(&text) {
        return Err(Failure::input(
            argument,
            format!(
                "it holds the number {integer}, above 2^53 - 1: a JavaScript number cannot hold \
                 it exactly (it may already have been rounded): records can carry it as JSON \
                 text (`buildManifestJsonFromText` reads numbers exactly); otherwise use a \
                 smaller value"
            ),
        ));
    }
    // A position in text the caller never saw would only confuse: the path says where.
    read_json(argument, &text, Position::Omitted)
}

/// The first integer of `JSON.stringify` text whose magnitude is above 2^53 - 1 (the largest a
/// JS number holds exactly), outside strings. The engine has already rounded such a number to
/// the nearest double, so its digits must not be read as exact. Numbers with a fraction or an
/// exponent are left to the parser (no count or size field takes them).
fn first_unsafe_integer(text: &str) -> Option<&str> {
    const MAX_SAFE: u128 = (1 << 53) - 1;
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'0'..=b'9' => {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let digits = &text[start..i];
                let integer = !matches!(b.get(i), Some(b'.' | b'e' | b'E'));
                if integer
                    && digits.len() >= 16
                    && digits.parse::<u128>().map_or(true, |n| n > MAX_SAFE)
                {
                    return Some(digits);
                }
                while i < b.len() && matches!(b[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Reads argument `argument` from JSON text the caller passed, naming the field
/// (`documents[3].file_size`) and its line and column on error.
fn from_json_text<T: DeserializeOwned>(argument: &'static str, text: &str) -> Result<T> {
    read_json(argument, text, Position::Given)
}

/// Whether an error names its line and column in the text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Position {
    Given,
    Omitted,
}

/// One pass when the text fits, and only when it does not a second one that tracks the path,
/// for the error.
fn read_json<T: DeserializeOwned>(
    argument: &'static str,
    text: &str,
    position: Position,
) -> Result<T> {
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    let detail = |e: serde_json::Error| {
        let text = e.to_string();
        match (position, text.rfind(" at line ")) {
            (Position::Omitted, Some(i)) => text[..i].to_owned(),
            _ => text,
        }
    };
    let mut de = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => {
            de.end().map_err(|e| Failure::input(argument, detail(e)))?;
            Ok(value)
        }
        Err(e) => Err(Failure::Input {
            argument: at_path(argument, &e.path().to_string()),
            detail: detail(e.into_inner()),
        }),
    }
}

/// `argument` followed by a serde path (`.` for the whole value, `[3].file_size` into it).
fn at_path(argument: &'static str, path: &str) -> String {
    match path {
        "." => argument.to_owned(),
        p if p.starts_with('[') => format!("{argument}{p}"),
        p => format!("{argument}.{p}"),
    }
}

/// Reads a string argument; anything else is an `invalid_input` error, not a coercion.
fn string_from_js(argument: &'static str, value: &JsValue) -> Result<String> {
    value.as_string().ok_or_else(|| {
        Failure::input(
            argument,
            format!("expected a string, got {}", type_name(value)),
        )
    })
}

/// What a JS value is, for messages.
fn type_name(value: &JsValue) -> String {
    value.js_typeof().as_string().unwrap_or_default()
}

/// Reads an optional argument (`undefined` or `null` when absent).
fn from_js_opt<T: DeserializeOwned>(argument: &'static str, value: JsValue) -> Result<Option<T>> {
    if value.is_undefined() || value.is_null() {
        Ok(None)
    } else {
        from_js(argument, value).map(Some)
    }
}

/// Writes a result as plain JS objects: maps as objects (never `Map`s), `None` as `null` or,
/// where the manifest leaves a field out, absent.
fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| Failure::Output(js_error_text(&e)))
}

/// A manifest handed in as an object: read, then held to every rule `parseManifest` checks.
fn manifest_from_js(argument: &'static str, value: JsValue) -> Result<Manifest> {
    let manifest: Manifest = from_js(argument, value)?;
    manifest.validate()?;
    Ok(manifest)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DaySpec {
    date: BackupDate,
    #[serde(default)]
    seed: u64,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GenerateOptions {
    date: BackupDate,
    count: u64,
    #[serde(default)]
    seed: u64,
    start: Option<u64>,
    end: Option<u64>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GenerateManifestOptions {
    date: BackupDate,
    count: u64,
    #[serde(default)]
    seed: u64,
    at: Timestamp,
    environment: Option<Label>,
    run_id: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanOptionsInput {
    #[serde(default)]
    prefix: String,
    environment: Label,
    encryption: Option<Encryption>,
}

/// Document indices are limited to `u32` so that `wasm32` (32-bit `usize`) and native hosts
/// generate the same document for every index.
fn check_index(argument: &'static str, index: u64) -> Result<()> {
    if index > u64::from(u32::MAX) {
        return Err(Failure::input(
            argument,
            format!("document index {index} is above {}", u32::MAX),
        ));
    }
    Ok(())
}

fn check_count(argument: &'static str, count: u64) -> Result<()> {
    if count > MAX_DOCUMENTS_PER_CALL {
        return Err(Failure::input(
            argument,
            format!(
                "{count} documents in one call is more than {MAX_DOCUMENTS_PER_CALL}: generate \
                 the day in ranges with `start` and `end`"
            ),
        ));
    }
    check_index(argument, count)
}

fn generated_manifest(options: JsValue) -> Result<Manifest> {
    let o: GenerateManifestOptions = from_js("options", options)?;
    check_count("options", o.count)?;
    let spec = GeneratorSpec {
        date: o.date,
        count: o.count,
        seed: o.seed,
    };
    let environment = match o.environment {
        Some(env) => env,
        None => Label::new("prod").map_err(|e| Failure::input("options", e))?,
    };
    let header = ManifestHeader {
        backup_date: o.date,
        backup_timestamp: o.at,
        environment,
        run_id: o.run_id,
        source: SourceDescription::Generator {
            count: o.count,
            seed: o.seed,
        },
    };
    let generator = Generator::new(spec);
    let mut body = Vec::new();
    let documents = (0..o.count)
        .map(|i| generator.document_into(i, &mut body))
        .collect();
    Ok(Manifest::assemble(header, documents, Vec::new())?)
}

fn assembled(header: JsValue, documents: JsValue, failures: JsValue) -> Result<Manifest> {
    let header: ManifestHeader = from_js("header", header)?;
    let documents: Vec<Document> = from_js("documents", documents)?;
    let failures: Vec<FailedDocument> = from_js_opt("failures", failures)?.unwrap_or_default();
    Ok(Manifest::assemble(header, documents, failures)?)
}

/// The records of a generated day (no bodies): indices `[start ?? 0, end ?? count)`.
///
/// Throws `invalid_input` for a bad date, a range outside `[0, count]` or more than 1,000,000
/// documents in one call.
#[wasm_bindgen(js_name = generateDocuments, unchecked_return_type = "DocumentRecord[]")]
pub fn generate_documents(
    #[wasm_bindgen(unchecked_param_type = "GenerateOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let o: GenerateOptions = from_js("options", options)?;
    let (start, end) = (o.start.unwrap_or(0), o.end.unwrap_or(o.count));
    if start > end || end > o.count {
        return Err(Failure::input(
            "options",
            format!(
                "range {start}..{end} is not inside the day's {} documents",
                o.count
            ),
        )
        .into());
    }
    check_count("options", end - start)?;
    check_index("options", o.count)?;
    let generator = Generator::new(GeneratorSpec {
        date: o.date,
        count: o.count,
        seed: o.seed,
    });
    let mut body = Vec::new();
    let documents: Vec<Document> = (start..end)
        .map(|i| generator.document_into(i, &mut body))
        .collect();
    Ok(to_js(&documents)?)
}

/// Document `index` of a generated day, with its body: the bytes whose size and SHA-256 the
/// record carries.
#[wasm_bindgen(js_name = generateDocument, unchecked_return_type = "GeneratedDocument")]
pub fn generate_document(
    #[wasm_bindgen(unchecked_param_type = "DaySpec")] day: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] index: JsValue,
) -> Result<JsValue, JsValue> {
    let day: DaySpec = from_js("day", day)?;
    let index = index_from_js(&index)?;
    let generator = Generator::new(GeneratorSpec {
        date: day.date,
        count: index + 1,
        seed: day.seed,
    });
    let mut body = Vec::new();
    let document = generator.document_into(index, &mut body);
    let out = js_sys::Object::new();
    let set = |key: &str, value: &JsValue| js_sys::Reflect::set(&out, &key.into(), value);
    set("document", &to_js(&document)?)?;
    set("body", &js_sys::Uint8Array::from(body.as_slice()).into())?;
    Ok(out.into())
}

fn index_from_js(index: &JsValue) -> Result<u64> {
    let Some(index) = index.as_f64() else {
        return Err(Failure::input(
            "index",
            format!("expected a number, got {}", type_name(index)),
        ));
    };
    if !(index.is_finite() && index >= 0.0 && index.fract() == 0.0) {
        return Err(Failure::input(
            "index",
            format!("{index} is not a non-negative integer"),
        ));
    }
    let index = index as u64;
    check_index("index", index)?;
    Ok(index)
}

/// The manifest of a generated day, as objects (`generateManifestJson` gives its bytes).
#[wasm_bindgen(js_name = generateManifest, unchecked_return_type = "Manifest")]
pub fn generate_manifest(
    #[wasm_bindgen(unchecked_param_type = "GenerateManifestOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    Ok(to_js(&generated_manifest(options)?)?)
}

/// The canonical JSON of a generated day's manifest: byte for byte what
/// `docvault manifest --generate COUNT --date DATE --at AT [--seed S] [--env E] [--run-id R]`
/// prints.
#[wasm_bindgen(js_name = generateManifestJson)]
pub fn generate_manifest_json(
    #[wasm_bindgen(unchecked_param_type = "GenerateManifestOptions")] options: JsValue,
) -> Result<String, JsValue> {
    Ok(generated_manifest(options)?.to_json())
}

/// Assembles a manifest from a run's results: sorts by id, checks ids and keys are unique and
/// inside the day, computes the summary. The status is `complete` exactly when `failures` is
/// empty.
///
/// Throws `duplicate_document_id`, `duplicate_object_key`, `key_outside_day`,
/// `stored_and_failed`, `duplicate_failure`, or `invalid_input` for a malformed record.
#[wasm_bindgen(js_name = buildManifest, unchecked_return_type = "Manifest")]
pub fn build_manifest(
    #[wasm_bindgen(unchecked_param_type = "ManifestHeader")] header: JsValue,
    #[wasm_bindgen(unchecked_param_type = "DocumentRecord[]")] documents: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "FailedDocument[]")] failures: JsValue,
) -> Result<JsValue, JsValue> {
    Ok(to_js(&assembled(header, documents, failures)?)?)
}

/// `buildManifest`, returning the canonical JSON text (what the CLI and the Lambda write).
#[wasm_bindgen(js_name = buildManifestJson)]
pub fn build_manifest_json(
    #[wasm_bindgen(unchecked_param_type = "ManifestHeader")] header: JsValue,
    #[wasm_bindgen(unchecked_param_type = "DocumentRecord[]")] documents: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "FailedDocument[]")] failures: JsValue,
) -> Result<String, JsValue> {
    Ok(assembled(header, documents, failures)?.to_json())
}

/// `buildManifestJson` with the records as JSON text (`DocumentRecord[]`, and optionally
/// `FailedDocument[]`): one copy into WebAssembly and one pass of the parser instead of reading
/// every field of every record through the JS API. For records that are already text (read
/// from a file or a response), and for many JS records too (`JSON.stringify` them first): see
/// the package README for the measured difference.
///
/// Throws `invalid_input` naming the record and field (`documents[3].file_size`) and where in
/// the text it is.
#[wasm_bindgen(js_name = buildManifestJsonFromText)]
pub fn build_manifest_json_from_text(
    #[wasm_bindgen(unchecked_param_type = "ManifestHeader")] header: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] documents: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "string")] failures: JsValue,
) -> Result<String, JsValue> {
    let header: ManifestHeader = from_js("header", header)?;
    let documents: Vec<Document> =
        from_json_text("documents", &string_from_js("documents", &documents)?)?;
    let failures: Vec<FailedDocument> = if failures.is_undefined() || failures.is_null() {
        Vec::new()
    } else {
        from_json_text("failures", &string_from_js("failures", &failures)?)?
    };
    let manifest = Manifest::assemble(header, documents, failures).map_err(Failure::from)?;
    Ok(manifest.to_json())
}

/// The canonical JSON text of a manifest object, after checking every rule `parseManifest`
/// checks (so an edited object cannot be written inconsistent).
#[wasm_bindgen(js_name = manifestToJson)]
pub fn manifest_to_json(
    #[wasm_bindgen(unchecked_param_type = "Manifest")] manifest: JsValue,
) -> Result<String, JsValue> {
    Ok(manifest_from_js("manifest", manifest)?.to_json())
}

/// Parses and validates manifest text as untrusted input: syntax and types (naming the field
/// path), schema version, unique ids and keys, keys inside the day, counts and sums, status.
///
/// Throws a `DocvaultError` whose `code` is a `ManifestErrorCode`.
#[wasm_bindgen(js_name = parseManifest, unchecked_return_type = "Manifest")]
pub fn parse_manifest(
    #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "string[]")] parts: JsValue,
) -> Result<JsValue, JsValue> {
    let manifest = read_manifest(&text, parts)?.map_err(Failure::from)?;
    Ok(to_js(&manifest)?)
}

/// Manifest text in either form: one document, or the root of a day in parts with the text
/// of each part in the root's order (`parts`), joined and checked by the same rules.
fn read_manifest(text: &JsValue, parts: JsValue) -> Result<Result<Manifest, ManifestError>> {
    let text = string_from_js("text", text)?;
    let parts: Option<Vec<String>> = from_js_opt("parts", parts)?;
    Ok(match ManifestForm::from_json(&text) {
        Err(e) => Err(e),
        Ok(ManifestForm::Whole(manifest)) => {
            if parts.is_some_and(|p| !p.is_empty()) {
                return Err(Failure::input(
                    "parts",
                    "the manifest is one document and has no parts: leave `parts` out",
                ));
            }
            Ok(manifest)
        }
        Ok(ManifestForm::Parted(mut join)) => (|| {
            for part in parts.unwrap_or_default() {
                join.add(part.as_bytes())?;
            }
            join.finish()
        })(),
    })
}

/// The form a day too large for one JSON document is committed in: the root (for the day's
/// `manifest.json`) and its parts (each for its `key`, written before the root), in parts of
/// `partDocuments` documents. Byte for byte what a sharded commit writes.
///
/// Throws `invalid_input` for a manifest that is not complete or has no documents.
#[wasm_bindgen(js_name = manifestToParts, unchecked_return_type = "ManifestInParts")]
pub fn manifest_to_parts(
    #[wasm_bindgen(unchecked_param_type = "Manifest")] manifest: JsValue,
    #[wasm_bindgen(js_name = partDocuments, unchecked_param_type = "number")]
    part_documents: JsValue,
) -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    struct Part {
        key: String,
        text: String,
    }
    #[derive(Serialize)]
    struct InParts {
        root: String,
        parts: Vec<Part>,
    }
    let manifest = manifest_from_js("manifest", manifest)?;
    let part_documents = part_documents.as_f64().unwrap_or(f64::NAN);
    if !((1.0..=1e7).contains(&part_documents) && part_documents.fract() == 0.0) {
        return Err(
            Failure::input("partDocuments", "use a whole number from 1 to 10000000").into(),
        );
    }
    let Some(parted) = manifest.to_parted(part_documents as u64) else {
        return Err(Failure::input(
            "manifest",
            "only a complete day with documents is written in parts",
        )
        .into());
    };
    let text =
        |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|e| Failure::Output(e.to_string()));
    let parts = parted
        .root
        .parts
        .iter()
        .zip(parted.parts)
        .map(|(p, body)| {
            Ok(Part {
                key: p.key.clone(),
                text: text(body)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(to_js(&InParts {
        root: text(parted.root_json)?,
        parts,
    })?)
}

/// `parseManifest` without building the objects: whether the text is a valid manifest, and
/// if not, the first broken rule.
#[wasm_bindgen(js_name = validateManifest, unchecked_return_type = "ValidationResult")]
pub fn validate_manifest(
    #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "string[]")] parts: JsValue,
) -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Validation {
        Valid {
            valid: bool,
            status: BackupStatus,
            backup_date: BackupDate,
            total_documents: u64,
            total_failed: u64,
        },
        Invalid {
            valid: bool,
            code: &'static str,
            message: String,
        },
    }
    let result = match read_manifest(&text, parts)? {
        Ok(m) => Validation::Valid {
            valid: true,
            status: m.status,
            backup_date: m.backup_date,
            total_documents: m.total_documents,
            total_failed: m.total_failed,
        },
        Err(e) => Validation::Invalid {
            valid: false,
            code: e.code(),
            message: e.to_string(),
        },
    };
    Ok(to_js(&result)?)
}

/// Counts by type and department and the total size of `documents`.
#[wasm_bindgen(js_name = summarize, unchecked_return_type = "BackupSummary")]
pub fn summarize(
    #[wasm_bindgen(unchecked_param_type = "DocumentRecord[]")] documents: JsValue,
) -> Result<JsValue, JsValue> {
    let documents: Vec<Document> = from_js("documents", documents)?;
    Ok(to_js(&BackupSummary::of(&documents))?)
}

/// Compares a manifest with what a store holds (keys relative to the backup root, sizes, the
/// checksums the store keeps or the caller read back, and optionally encryption): what is
/// missing, extra, resized, altered, or not encrypted as `expected` asks (when given); objects
/// nothing checks are listed as unverified, and counted as problems only with
/// `requireStoredChecksums`.
///
/// The manifest is checked like `parseManifest` first.
#[wasm_bindgen(js_name = verifyObjects, unchecked_return_type = "VerifyReport")]
pub fn verify_objects(
    #[wasm_bindgen(unchecked_param_type = "Manifest")] manifest: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ObservedObject[]")] observed: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "Encryption")] expected: Option<JsValue>,
    #[wasm_bindgen(js_name = requireStoredChecksums, unchecked_optional_param_type = "boolean")]
    require_stored_checksums: Option<bool>,
) -> Result<JsValue, JsValue> {
    let manifest = manifest_from_js("manifest", manifest)?;
    let observed: Vec<ObservedObject> = from_js("observed", observed)?;
    let encryption: Encryption = match expected {
        Some(e) if !e.is_null() && !e.is_undefined() => from_js("expected", e)?,
        _ => Encryption::None,
    };
    let policy = VerifyPolicy {
        encryption,
        require_stored_checksums: require_stored_checksums.unwrap_or(false),
    };
    Ok(to_js(&verify::verify_objects(
        &manifest, observed, &policy,
    ))?)
}

/// What changed from `before` to `after`: added, removed and changed documents (with the
/// fields that differ), and how many are unchanged. Both manifests are checked first.
#[wasm_bindgen(js_name = compareManifests, unchecked_return_type = "ManifestDiff")]
pub fn compare_manifests(
    #[wasm_bindgen(unchecked_param_type = "Manifest")] before: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Manifest")] after: JsValue,
) -> Result<JsValue, JsValue> {
    let before = manifest_from_js("before", before)?;
    let after = manifest_from_js("after", after)?;
    Ok(to_js(&diff::compare(&before, &after))?)
}

/// The uploads of a day: each document's PUT (key, headers, checksum, metadata, tags,
/// encryption) in manifest order, and the manifest key, written last.
///
/// Throws `invalid_prefix`, `duplicate_document_id` or `invalid_input`.
#[wasm_bindgen(js_name = planUploads, unchecked_return_type = "UploadPlan")]
pub fn plan_uploads(
    #[wasm_bindgen(unchecked_param_type = "PlanOptions")] options: JsValue,
    #[wasm_bindgen(unchecked_param_type = "IsoDate")] date: JsValue,
    #[wasm_bindgen(unchecked_param_type = "DocumentRecord[]")] documents: JsValue,
) -> Result<JsValue, JsValue> {
    let o: PlanOptionsInput = from_js("options", options)?;
    let date: BackupDate = string_from_js("date", &date)?
        .parse()
        .map_err(|e| Failure::input("date", e))?;
    let documents: Vec<Document> = from_js("documents", documents)?;
    let options = PlanOptions {
        prefix: KeyPrefix::parse(&o.prefix).map_err(Failure::from)?,
        environment: o.environment,
        encryption: o.encryption.unwrap_or(Encryption::None),
        retention: None,
    };
    let plan = plan::plan_uploads(&options, date, &documents).map_err(Failure::from)?;
    Ok(to_js(&plan)?)
}

/// `sha256:<hex>` of `bytes`: the form a manifest's `checksum` has.
#[wasm_bindgen(js_name = sha256Checksum, unchecked_return_type = "Checksum")]
pub fn sha256_checksum(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
) -> Result<String, JsValue> {
    let bytes = bytes.dyn_into::<js_sys::Uint8Array>().map_err(|v| {
        Failure::input(
            "bytes",
            format!("expected a Uint8Array (or Buffer), got {}", type_name(&v)),
        )
    })?;
    Ok(Sha256Digest::of(&bytes.to_vec()).to_string())
}

/// Converts S3's `x-amz-checksum-sha256` (base64) into a manifest checksum (`sha256:<hex>`).
#[wasm_bindgen(js_name = checksumFromBase64, unchecked_return_type = "Checksum")]
pub fn checksum_from_base64(
    #[wasm_bindgen(unchecked_param_type = "string")] base64: JsValue,
) -> Result<String, JsValue> {
    let base64 = string_from_js("base64", &base64)?;
    Sha256Digest::from_base64(&base64)
        .map(|d| d.to_string())
        .ok_or_else(|| {
            Failure::input(
                "base64",
                format!("`{base64}` is not the base64 of a 32-byte SHA-256 digest"),
            )
            .into()
        })
}

/// Converts S3's `x-amz-checksum-sha256` as HeadObject reports it (`<base64>`, or
/// `<base64>-<count>` for an object stored in parts) into a `StoreChecksum` for
/// `verifyObjects`.
#[wasm_bindgen(js_name = checksumFromS3, unchecked_return_type = "StoreChecksum")]
pub fn checksum_from_s3(
    #[wasm_bindgen(unchecked_param_type = "string")] value: JsValue,
) -> Result<JsValue, JsValue> {
    let value = string_from_js("value", &value)?;
    let checksum = verify::StoreChecksum::from_s3(&value).ok_or_else(|| {
        Failure::input(
            "value",
            format!("`{value}` is not S3's `<base64>` or `<base64>-<count>` SHA-256 checksum"),
        )
    })?;
    Ok(to_js(&checksum)?)
}

/// The manifest schema version this package writes and reads.
#[wasm_bindgen(js_name = schemaVersion)]
pub fn schema_version() -> u32 {
    SCHEMA_VERSION
}

/// The published JSON Schema of the manifest (text). It checks shapes and formats;
/// `parseManifest` also checks the rules between fields.
#[wasm_bindgen(js_name = manifestJsonSchema)]
pub fn manifest_json_schema() -> String {
    docvault_core::manifest::JSON_SCHEMA.to_owned()
}

/// The version of this package (and of the docvault workspace it is built from).
#[wasm_bindgen(js_name = version)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

#[cfg(test)]
mod tests {
    use docvault_core::DocumentId;

    use super::*;

    #[test]
    fn integers_a_js_number_cannot_hold_are_found_outside_strings() {
        for (text, found) in [
            (r#"{"file_size":9007199254740991}"#, None),
            (
                r#"{"file_size":9007199254740992}"#,
                Some("9007199254740992"),
            ),
            (r#"[-9007199254740993]"#, Some("9007199254740993")),
            (
                r#"{"seed":18446744073709551616}"#,
                Some("18446744073709551616"),
            ),
            (
                r#"{"x":1234567890123456789012345678901234567890}"#,
                Some("1234567890123456789012345678901234567890"),
            ),
            // Inside strings (escaped quotes included), and numbers with a fraction or an
            // exponent, are not integers to check.
            (
                r#"{"id":"9007199254740993","k":"a\"9007199254740993"}"#,
                None,
            ),
            (
                r#"{"a":"\\","b":9007199254740993}"#,
                Some("9007199254740993"),
            ),
            (r#"[1.5e300,90071992547409930.5,1e+21]"#, None),
            (r#"[0,1,2,-3,"#, None),
        ] {
            assert_eq!(first_unsafe_integer(text), found, "{text}");
        }
    }

    #[test]
    fn codes_and_messages() {
        let id = DocumentId::new("invoice_0001").unwrap();
        let dup = Failure::from(AssembleError::Document {
            document_id: id.clone(),
            problem: docvault_core::manifest::DocumentProblem::DuplicateId { first: 0 },
        });
        assert_eq!(dup.code(), "duplicate_document_id");
        assert!(dup.to_string().contains("invoice_0001"));
        assert_eq!(
            Failure::from(PlanError::AlreadyAdmitted(id.to_string())).code(),
            "duplicate_document_id"
        );
        assert_eq!(
            Failure::from(KeyPrefix::parse("../x").unwrap_err()).code(),
            "invalid_prefix"
        );
        let schema = Manifest::from_json(r#"{"schema_version": 2}"#).unwrap_err();
        assert_eq!(Failure::from(schema).code(), "schema_version");
        let input = Failure::input("documents[3].file_size", "expected u64");
        assert_eq!(input.code(), "invalid_input");
        assert_eq!(
            input.to_string(),
            "`documents[3].file_size` is not usable: expected u64"
        );
    }
}
