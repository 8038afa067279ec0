//! The commands that look at a generated day or a manifest file and store nothing:
//! `manifest --generate`, `generate --out`, `summary`, `validate`.

use std::fmt::Write as _;
use std::io::{self, Read as _, Write as _};
use std::path::Path;

use docvault_core::{
    Generator, GeneratorSpec, Label, Layout, Manifest, ManifestForm, ManifestHeader,
    SourceDescription,
};
use docvault_fs::Root;

use crate::Clock;
use crate::args::{GenerateArgs, ManifestArgs, SummaryArgs, ValidateArgs};
use crate::error::CliError;
use crate::vault::{MANIFEST_LIMIT, PartsAt, PartsError, join_parts};

/// `docvault manifest --generate N`: the manifest JSON of a generated day on stdout.
pub(crate) fn manifest(args: ManifestArgs, clock: &mut Clock) -> Result<(), CliError> {
    let date = clock.date(args.day.date);
    let spec = GeneratorSpec {
        date,
        count: args.generate.unwrap_or_default(),
        seed: args.day.seed,
    };
    let header = ManifestHeader {
        backup_date: date,
        backup_timestamp: args.at.unwrap_or_else(|| clock.now()),
        environment: args.environment,
        run_id: args.run_id,
        source: SourceDescription::Generator {
            count: spec.count,
            seed: spec.seed,
        },
    };
    let manifest = generated_manifest(spec, header)?;
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    manifest
        .write_json(&mut out)
        .and_then(|()| out.flush())
        .map_err(CliError::io("writing the manifest to stdout"))
}

/// `docvault generate --out DIR`: every generated body as a file named after its key below
/// `documents/`, written through the directory's root (a link planted there is never
/// followed; an existing file is replaced only by a whole new one).
pub(crate) fn generate(args: GenerateArgs, clock: &mut Clock) -> Result<(), CliError> {
    let spec = GeneratorSpec {
        date: clock.date(args.day.date),
        count: args.count,
        seed: args.day.seed,
    };
    let out = Root::create(&args.out)
        .map_err(CliError::io(format!("creating {}", args.out.display())))?;
    let generator = Generator::new(spec);
    let layout = Layout::new(spec.date);
    let mut body = Vec::new();
    for i in 0..spec.count {
        let doc = generator.document_into(i, &mut body);
        let name = layout
            .document_path(&doc.object_key)
            .map_err(|e| CliError::Invalid(e.to_string()))?;
        let shown = out.display(name).display().to_string();
        let mut temp = out
            .prepare_file(name)
            .map_err(CliError::io(format!("writing {shown}")))?;
        temp.file()
            .write_all(&body)
            .map_err(CliError::io(format!("writing {shown}")))?;
        temp.commit_replace(&out, name)
            .map_err(CliError::io(format!("writing {shown}")))?;
    }
    eprintln!(
        "docvault: wrote {} documents for {} into {}",
        spec.count,
        spec.date,
        args.out.display()
    );
    Ok(())
}

/// `docvault summary`: counts by type and department of a generated day.
pub(crate) fn summary(args: SummaryArgs, clock: &mut Clock) -> Result<(), CliError> {
    let date = clock.date(args.day.date);
    let spec = GeneratorSpec {
        date,
        count: args.count,
        seed: args.day.seed,
    };
    let header = ManifestHeader {
        backup_date: date,
        backup_timestamp: clock.now(),
        environment: Label::new("dev").map_err(|e| CliError::Invalid(e.to_string()))?,
        run_id: None,
        source: SourceDescription::Generator {
            count: spec.count,
            seed: spec.seed,
        },
    };
    let manifest = generated_manifest(spec, header)?;
    let text = if args.json {
        let mut v = serde_json::to_string_pretty(&manifest.backup_summary)
            .map_err(|e| CliError::Invalid(e.to_string()))?;
        v.push('\n');
        v
    } else {
        human_summary(&manifest)
    };
    io::stdout()
        .write_all(text.as_bytes())
        .map_err(CliError::io("writing to stdout"))
}

/// `docvault validate FILE`: a manifest file checked, read with a size cap, never through a
/// link or from a FIFO (`-`: standard input, also capped).
pub(crate) fn validate(args: &ValidateArgs) -> Result<(), CliError> {
    let shown = args.file.display();
    let bytes = if args.file == Path::new("-") {
        let mut bytes = Vec::new();
        io::stdin()
            .take(MANIFEST_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(CliError::io("reading stdin"))?;
        if bytes.len() as u64 > MANIFEST_LIMIT {
            return Err(CliError::Invalid(format!(
                "stdin holds more than {MANIFEST_LIMIT} bytes: not a manifest docvault reads"
            )));
        }
        bytes
    } else {
        read_file(&args.file)?
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        CliError::Invalid(format!(
            "{shown} is not UTF-8 text (first bad byte at offset {}): not a docvault manifest",
            e.valid_up_to()
        ))
    })?;
    let invalid = |e: &dyn std::fmt::Display| CliError::Invalid(format!("{shown}: {e}"));
    let (manifest, parts) = match ManifestForm::from_json(text).map_err(|e| invalid(&e))? {
        ManifestForm::Whole(manifest) => (manifest, String::new()),
        ManifestForm::Parted(join) => {
            if args.file == Path::new("-") {
                return Err(CliError::Usage(
                    "stdin holds the root of a manifest in parts: give the file's path instead, \
                     so its parts are read beside it (manifest-parts/)"
                        .into(),
                ));
            }
            let count = join.root().parts.len();
            let dir = parent_dir(&args.file);
            let root = Root::open(dir).map_err(CliError::io(format!("reading {shown}")))?;
            let manifest = join_parts(&root, PartsAt::BesideRoot, join).map_err(|e| match e {
                PartsError::Io(e) => e,
                PartsError::Invalid(e) => invalid(&e),
            })?;
            (manifest, format!(", in {count} parts"))
        }
    };
    eprintln!(
        "docvault: {shown} is a valid {} manifest for {} ({} documents, {} failed{parts})",
        manifest.status, manifest.backup_date, manifest.total_documents, manifest.total_failed
    );
    Ok(())
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A file given on the command line: opened through its directory's root, so the name itself
/// is not followed if it is a link, and refused unless it is a regular file of bounded size.
fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    let shown = path.display();
    let (dir, name) = match (path.parent(), path.file_name().and_then(|n| n.to_str())) {
        (Some(_), Some(name)) => (parent_dir(path), name),
        _ => {
            return Err(CliError::Usage(format!(
                "{shown} does not name a file: give a path to a manifest.json"
            )));
        }
    };
    let root = Root::open(dir).map_err(CliError::io(format!("reading {shown}")))?;
    root.read_limited(name, MANIFEST_LIMIT).map_err(|e| {
        if e.kind() == io::ErrorKind::FileTooLarge {
            CliError::Invalid(e.to_string())
        } else {
            CliError::io(format!("reading {shown}"))(e)
        }
    })
}

/// Generates a day and assembles its manifest, holding one body at a time.
fn generated_manifest(spec: GeneratorSpec, header: ManifestHeader) -> Result<Manifest, CliError> {
    let generator = Generator::new(spec);
    let mut body = Vec::new();
    let documents = (0..spec.count)
        .map(|i| generator.document_into(i, &mut body))
        .collect();
    Manifest::assemble(header, documents, Vec::new()).map_err(|e| CliError::Invalid(e.to_string()))
}

fn human_summary(m: &Manifest) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} documents for {} ({} bytes), status {}",
        m.total_documents, m.backup_date, m.backup_summary.total_size_bytes, m.status
    );
    let _ = writeln!(s, "by type:");
    for (k, v) in &m.backup_summary.document_types {
        let _ = writeln!(s, "  {k:<12} {v}");
    }
    let _ = writeln!(s, "by department:");
    for (k, v) in &m.backup_summary.departments {
        let _ = writeln!(s, "  {k:<12} {v}");
    }
    s
}
