//! Progress on stderr: an indicatif bar when stderr is a terminal (native builds), else plain
//! lines: one when a step starts, then one about every tenth of the work and one at the end.
//! Plain lines work the same in a log file, a CI job and a WASI sandbox (no cursor control; the
//! bar's own timing stays outside the core, which never reads a clock).

use docvault_core::text::human_bytes;

/// Progress of one step over a known number of items.
#[derive(Debug)]
pub(crate) struct Progress {
    what: String,
    total: u64,
    done: u64,
    bytes: u64,
    step: u64,
    next: u64,
    out: Output,
}

#[derive(Debug)]
enum Output {
    Quiet,
    Lines,
    #[cfg(not(target_os = "wasi"))]
    Bar(indicatif::ProgressBar),
}

impl Progress {
    /// Announces the step (unless `quiet`).
    pub(crate) fn start(what: impl Into<String>, total: u64, quiet: bool) -> Self {
        let what = what.into();
        let out = if quiet {
            Output::Quiet
        } else {
            Self::terminal_bar(&what, total).unwrap_or_else(|| {
                eprintln!("docvault: {what}: {total} to do");
                Output::Lines
            })
        };
        let step = (total / 10).max(1);
        Self {
            what,
            total,
            done: 0,
            bytes: 0,
            step,
            next: step,
            out,
        }
    }

    #[cfg(not(target_os = "wasi"))]
    fn terminal_bar(what: &str, total: u64) -> Option<Output> {
        use std::io::IsTerminal as _;
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let style = indicatif::ProgressStyle::with_template(
            "docvault: {prefix} [{bar:30}] {pos}/{len} {msg} eta {eta}",
        )
        .ok()?
        .progress_chars("=> ");
        let bar = indicatif::ProgressBar::new(total)
            .with_style(style)
            .with_prefix(what.to_owned());
        Some(Output::Bar(bar))
    }

    #[cfg(target_os = "wasi")]
    fn terminal_bar(_what: &str, _total: u64) -> Option<Output> {
        None
    }

    /// One more item done, of `bytes` bytes.
    pub(crate) fn advance(&mut self, bytes: u64) {
        self.done += 1;
        self.bytes += bytes;
        match &self.out {
            Output::Quiet => {}
            #[cfg(not(target_os = "wasi"))]
            Output::Bar(bar) => {
                // The bar's length is items; its message carries bytes.
                bar.inc(1);
                bar.set_message(human_bytes(self.bytes));
                if self.done == self.total {
                    bar.finish_and_clear();
                    eprintln!(
                        "docvault: {}: {}/{} done, {}",
                        self.what,
                        self.done,
                        self.total,
                        human_bytes(self.bytes)
                    );
                }
            }
            Output::Lines => {
                if self.done >= self.next || self.done == self.total {
                    while self.next <= self.done {
                        self.next += self.step;
                    }
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
}

impl Drop for Progress {
    fn drop(&mut self) {
        #[cfg(not(target_os = "wasi"))]
        if let Output::Bar(bar) = &self.out {
            // A step that stopped early (an error) leaves no half-drawn bar behind.
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}
