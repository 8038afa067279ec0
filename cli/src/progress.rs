//! Progress as plain lines on stderr: a line when a step starts, then one about every tenth of
//! the work and one at the end. Plain lines work the same in a terminal, a log file, a CI job
//! and a WASI sandbox (no cursor control, no clock: the CLI reads the clock once).

use crate::local::human_bytes;

/// Progress of one step over a known number of items.
#[derive(Debug)]
pub(crate) struct Progress {
    what: String,
    total: u64,
    done: u64,
    bytes: u64,
    step: u64,
    next: u64,
    quiet: bool,
}

impl Progress {
    /// Announces the step (unless `quiet`).
    pub(crate) fn start(what: impl Into<String>, total: u64, quiet: bool) -> Self {
        let what = what.into();
        if !quiet {
            eprintln!("docvault: {what}: {total} to do");
        }
        let step = (total / 10).max(1);
        Self {
            what,
            total,
            done: 0,
            bytes: 0,
            step,
            next: step,
            quiet,
        }
    }

    /// One more item done, of `bytes` bytes.
    pub(crate) fn advance(&mut self, bytes: u64) {
        self.done += 1;
        self.bytes += bytes;
        if self.done >= self.next || self.done == self.total {
            while self.next <= self.done {
                self.next += self.step;
            }
            if !self.quiet {
                let pct = (self.done * 100).checked_div(self.total).unwrap_or(100);
                eprintln!(
                    "docvault: {}: {}/{} ({pct}%), {}",
                    self.what,
                    self.done,
                    self.total,
                    human_bytes(self.bytes)
                );
            }
        }
    }
}
