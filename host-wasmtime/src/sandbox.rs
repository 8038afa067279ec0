//! The sandbox: one WASI preview-1 guest (the `docvault.wasm` command) in an embedded wasmtime,
//! with only the directories it is granted, no network, no environment, a memory limit and a
//! wall-clock limit, and a cache of the compiled module so that repeat runs start fast.
//!
//! The guest gets:
//! * its arguments (`argv[0]` is `docvault`);
//! * the preopened directories it is given, read-only or read-write; nothing else of the host
//!   filesystem (absolute paths outside them and `..` past their roots fail inside the guest);
//! * no environment variables, no sockets (wasmtime-wasi denies TCP, UDP and name lookup unless
//!   enabled, and preview 1 has no socket calls to begin with);
//! * stdout captured in memory or inherited, stderr inherited, stdin empty.
//!
//! The limits are enforced by the runtime, not asked of the guest: linear memory (and tables)
//! cannot grow past `memory_bytes` (a growth beyond it traps), and an epoch deadline interrupts
//! the guest `timeout` after it starts. The deadline costs a check at every loop back-edge and
//! function entry of the guest's code; a guest loaded without a time limit
//! ([`Guest::load`] with `time_limited: false`) is compiled without those checks and runs its
//! tight loops faster (BENCHMARKS.md), for trusted batch work that must not be cut short.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use wasmtime::{Config, Engine, Linker, Module, ResourceLimiter, Store, Trap};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

/// Why a guest could not run, or was stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SandboxError {
    /// The `.wasm` file could not be read.
    #[error("reading the guest module {path}: {source}")]
    ReadModule {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The module is not a valid WASI command, or the engine could not be set up.
    #[error(
        "loading the guest module: {0:#}; build it with `scripts/build-wasm.sh wasip1 docvault-cli`"
    )]
    Load(wasmtime::Error),
    /// A directory to grant could not be opened.
    #[error("granting {host} to the sandbox as {guest}: {source:#}")]
    Grant {
        /// Host directory.
        host: PathBuf,
        /// Its name inside the guest.
        guest: String,
        /// Why.
        source: wasmtime::Error,
    },
    /// The guest ran past its wall-clock limit and was interrupted.
    #[error(
        "the guest ran longer than its time limit of {0:?} and was stopped; raise --timeout if \
         the work is legitimately that large"
    )]
    Timeout(Duration),
    /// The guest tried to grow its memory past the limit.
    #[error(
        "the guest tried to use more than its memory limit of {} MiB and was stopped; raise \
         --memory-mib if the work is legitimately that large",
        .0 / (1024 * 1024)
    )]
    MemoryLimit(usize),
    /// The guest trapped (a bug in the guest, or a panic compiled to an abort).
    #[error("the guest stopped with a trap: {0:#}")]
    Trap(wasmtime::Error),
}

/// A directory the guest may use.
#[derive(Debug, Clone)]
pub(crate) struct Preopen {
    /// Host directory (must exist).
    pub(crate) host: PathBuf,
    /// Its path inside the guest, e.g. `/src`.
    pub(crate) guest: String,
    /// Whether the guest may write there.
    pub(crate) writable: bool,
}

impl Preopen {
    /// A read-only grant.
    pub(crate) fn read_only(host: impl Into<PathBuf>, guest: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            guest: guest.into(),
            writable: false,
        }
    }

    /// A read-write grant.
    pub(crate) fn read_write(host: impl Into<PathBuf>, guest: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            guest: guest.into(),
            writable: true,
        }
    }
}

/// Limits of one guest run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Most bytes of linear memory the guest may have.
    pub(crate) memory_bytes: usize,
    /// Longest the guest may run; `None`: no limit (the guest must then be loaded without
    /// one, see [`Guest::load`]).
    pub(crate) timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 512 * 1024 * 1024,
            timeout: Some(Duration::from_secs(3600)),
        }
    }
}

/// What to do with the guest's stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stdout {
    /// The runner's own stdout.
    Inherit,
    /// Kept in memory and returned (at most `capacity` bytes).
    Capture {
        /// Bytes kept at most; the guest's writes beyond fail.
        capacity: usize,
    },
}

/// A finished guest.
#[derive(Debug)]
pub(crate) struct GuestRun {
    /// Its exit code (0 success).
    pub(crate) exit_code: i32,
    /// Its stdout when captured.
    pub(crate) stdout: bytes::Bytes,
}

/// How the module was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModuleSource {
    /// Compiled now (and stored in the cache when there is one).
    Compiled,
    /// Loaded precompiled from the cache.
    Cached,
}

/// A compiled guest, ready to run many times.
#[derive(Debug, Clone)]
pub(crate) struct Guest {
    engine: Engine,
    module: Module,
    /// Compiled with the epoch checks a time limit needs.
    time_limited: bool,
    source: ModuleSource,
    load_time: Duration,
}

struct State {
    wasi: WasiP1Ctx,
    limiter: Limiter,
}

/// Memory and table limits; remembers whether the guest hit them, so the error can say so.
struct Limiter {
    memory_bytes: usize,
    hit: Arc<AtomicBool>,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.hit.store(true, Ordering::SeqCst);
            wasmtime::bail!("memory limit of {} bytes reached", self.memory_bytes);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A table entry is at most a pointer or two: a generous bound that still stops a
        // runaway guest long before it exhausts the host.
        Ok(desired <= 1 << 20)
    }
}

impl Guest {
    /// Loads the guest at `wasm` (a `.wasm` binary, or `.wat` text). With `cache_dir`, the
    /// compiled code is kept there, keyed by the module's bytes and the engine's settings, and
    /// reused by later runs. `time_limited`: compile the checks that let [`Limits::timeout`]
    /// interrupt the guest (without them, runs must have no time limit).
    ///
    /// # Errors
    /// [`SandboxError::ReadModule`] or [`SandboxError::Load`].
    pub(crate) fn load(
        wasm: &Path,
        cache_dir: Option<&Path>,
        time_limited: bool,
    ) -> Result<Self, SandboxError> {
        let bytes = std::fs::read(wasm).map_err(|source| SandboxError::ReadModule {
            path: wasm.to_owned(),
            source,
        })?;
        Self::from_bytes(&bytes, cache_dir, time_limited)
    }

    /// As [`Guest::load`], from the module's bytes.
    ///
    /// # Errors
    /// [`SandboxError::Load`].
    pub(crate) fn from_bytes(
        bytes: &[u8],
        cache_dir: Option<&Path>,
        time_limited: bool,
    ) -> Result<Self, SandboxError> {
        let mut config = Config::new();
        config.epoch_interruption(time_limited);
        let engine = Engine::new(&config).map_err(SandboxError::Load)?;
        let started = Instant::now();
        let (module, source) = match cache_dir {
            Some(dir) => cached_module(&engine, bytes, dir)?,
            None => (
                Module::new(&engine, bytes).map_err(SandboxError::Load)?,
                ModuleSource::Compiled,
            ),
        };
        Ok(Self {
            engine,
            module,
            time_limited,
            source,
            load_time: started.elapsed(),
        })
    }

    /// Whether the module came from the cache.
    pub(crate) fn source(&self) -> ModuleSource {
        self.source
    }

    /// How long compiling or loading the module took.
    pub(crate) fn load_time(&self) -> Duration {
        self.load_time
    }

    /// Runs the guest's `_start` with `args` (after `argv[0]`), the `preopens`, and `limits`.
    /// A non-zero exit is a [`GuestRun`] like any other; only a stopped or broken guest is an
    /// error.
    ///
    /// # Errors
    /// [`SandboxError::Grant`], [`SandboxError::Timeout`], [`SandboxError::MemoryLimit`],
    /// [`SandboxError::Trap`], [`SandboxError::Load`] (instantiation).
    pub(crate) fn run(
        &self,
        args: &[String],
        preopens: &[Preopen],
        stdout: Stdout,
        limits: Limits,
    ) -> Result<GuestRun, SandboxError> {
        let mut wasi = WasiCtxBuilder::new();
        wasi.arg("docvault").args(args).inherit_stderr();
        // The guest runs synchronously on this thread: let its file I/O block here too, rather
        // than hop to a blocking pool and back for every call (as `wasmtime run` does). Must
        // precede the preopens, which capture it.
        wasi.allow_blocking_current_thread(true);
        // No network: preview 1 has no socket calls, and these are off by default; say so.
        wasi.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let pipe = match stdout {
            Stdout::Inherit => {
                wasi.inherit_stdout();
                None
            }
            Stdout::Capture { capacity } => {
                let pipe = MemoryOutputPipe::new(capacity);
                wasi.stdout(pipe.clone());
                Some(pipe)
            }
        };
        for p in preopens {
            let perms = if p.writable {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            };
            wasi.preopened_dir(&p.host, &p.guest, perms)
                .map_err(|source| SandboxError::Grant {
                    host: p.host.clone(),
                    guest: p.guest.clone(),
                    source,
                })?;
        }
        let hit = Arc::new(AtomicBool::new(false));
        let mut store = Store::new(
            &self.engine,
            State {
                wasi: wasi.build_p1(),
                limiter: Limiter {
                    memory_bytes: limits.memory_bytes,
                    hit: hit.clone(),
                },
            },
        );
        store.limiter(|s| &mut s.limiter);
        match (limits.timeout, self.time_limited) {
            (Some(_), true) => {
                store.set_epoch_deadline(1);
                store.epoch_deadline_trap();
            }
            (None, _) => {}
            (Some(_), false) => {
                return Err(SandboxError::Load(wasmtime::Error::msg(
                    "this guest was loaded without a time limit, so none can be enforced: load \
                     it time-limited",
                )));
            }
        }

        let mut linker: Linker<State> = Linker::new(&self.engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut State| &mut s.wasi)
            .map_err(SandboxError::Load)?;
        let started = Instant::now();
        let instance = linker
            .instantiate(&mut store, &self.module)
            .map_err(|e| classify(e, &hit, limits))?;
        let instantiate = started.elapsed();
        tracing::debug!(
            instantiate_us = instantiate.as_micros(),
            "guest instantiated"
        );
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .map_err(SandboxError::Load)?;

        // The watchdog: one epoch tick at the deadline interrupts the guest.
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let watchdog = limits.timeout.map(|timeout| {
            let engine = self.engine.clone();
            thread::spawn(move || {
                if done_rx.recv_timeout(timeout) == Err(mpsc::RecvTimeoutError::Timeout) {
                    engine.increment_epoch();
                }
            })
        });
        let result = start.call(&mut store, ());
        let _ = done_tx.send(());
        if let Some(watchdog) = watchdog {
            let _ = watchdog.join();
        }

        let exit_code = match result {
            Ok(()) => 0,
            Err(e) => match e.downcast_ref::<I32Exit>() {
                Some(exit) => exit.0,
                None => return Err(classify(e, &hit, limits)),
            },
        };
        drop(store);
        let stdout = pipe.map(|p| p.contents()).unwrap_or_default();
        Ok(GuestRun { exit_code, stdout })
    }
}

/// The compiled module from `dir`, or compiled now and stored there.
///
/// The file name is the SHA-256 of the module's bytes and of the engine's compatibility hash
/// (wasmtime version, target, settings), so a changed guest or a new runner never loads stale
/// code. Files are written whole (a temporary file, then a rename) and loaded with
/// `Module::deserialize_file`, which maps the file instead of decompressing or copying it: that
/// is what makes a cached start take a millisecond or two.
fn cached_module(
    engine: &Engine,
    bytes: &[u8],
    dir: &Path,
) -> Result<(Module, ModuleSource), SandboxError> {
    use std::hash::{Hash as _, Hasher as _};
    let mut engine_hash = std::hash::DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    let key = Sha256::new()
        .chain_update(bytes)
        .chain_update(engine_hash.finish().to_le_bytes())
        .finalize();
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!("{hex}.cwasm"));

    if private_dir(dir) && path.is_file() {
        match load_precompiled(engine, &path) {
            Ok(module) => return Ok((module, ModuleSource::Cached)),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring an unusable cached module")
            }
        }
    }
    let module = Module::new(engine, bytes).map_err(SandboxError::Load)?;
    match module.serialize() {
        Ok(compiled) => {
            if let Err(e) = store_precompiled(dir, &path, &compiled) {
                tracing::warn!(dir = %dir.display(), error = %e, "could not cache the compiled module");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not serialize the compiled module"),
    }
    Ok((module, ModuleSource::Compiled))
}

/// Loads precompiled code written by [`store_precompiled`].
#[allow(unsafe_code)]
fn load_precompiled(engine: &Engine, path: &Path) -> wasmtime::Result<Module> {
    // SAFETY: `deserialize_file` trusts the file to be wasmtime's own output, since it maps it
    // as machine code. The file is ours: written by `Module::serialize` from an engine
    // with the same compatibility hash (part of its name), renamed into place whole, in a
    // directory that `private_dir` confirmed only this user can write; wasmtime itself also
    // refuses files from another version or configuration.
    unsafe { Module::deserialize_file(engine, path) }
}

fn store_precompiled(dir: &Path, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
    }
    // An existing directory is never re-permissioned (it may be shared, like /tmp): a directory
    // others can write to is not used at all.
    if !private_dir(dir) {
        return Err(std::io::Error::other(
            "the directory is writable by other users, so cached code there cannot be trusted; \
             choose a private --cache-dir",
        ));
    }
    let temp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temp, compiled)?;
    std::fs::rename(&temp, path)
}

/// Whether only the current user can write to `dir` (cached code is trusted as machine code).
fn private_dir(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        std::fs::metadata(dir).is_ok_and(|m| {
            m.is_dir()
                && m.permissions().mode() & 0o022 == 0
                && std::fs::metadata("/proc/self").map_or(true, |me| me.uid() == m.uid())
        })
    }
    #[cfg(not(unix))]
    {
        dir.is_dir()
    }
}

fn classify(e: wasmtime::Error, memory_hit: &AtomicBool, limits: Limits) -> SandboxError {
    if memory_hit.load(Ordering::SeqCst) {
        SandboxError::MemoryLimit(limits.memory_bytes)
    } else if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        SandboxError::Timeout(limits.timeout.unwrap_or_default())
    } else {
        SandboxError::Trap(e)
    }
}
