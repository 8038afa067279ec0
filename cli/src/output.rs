//! Results on stdout: text for people, or one pretty JSON object with `--json` for scripts.
//! Progress and errors go to stderr, so stdout stays parseable.

use std::io::{self, Write as _};

use serde::Serialize;

use crate::error::CliError;

/// Prints `value` as JSON when `json`, else `text`.
pub(crate) fn emit<T: Serialize + ?Sized>(
    json: bool,
    text: &str,
    value: &T,
) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    let written = if json {
        serde_json::to_writer_pretty(&mut out, value)
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
    } else {
        out.write_all(text.as_bytes())
    };
    written
        .and_then(|()| out.flush())
        .map_err(CliError::io("writing to stdout"))
}
