//! # docvault-fs
//!
//! The one door docvault's hosts use to the local filesystem: a [`Root`] directory, and paths
//! relative to it that can neither leave it nor follow a symbolic link. The backup set (a
//! vault), a restore target and a source directory are each a `Root`; nothing in docvault joins
//! an untrusted path onto a directory any other way.
//!
//! **Contract.**
//! * Every relative path passes the core's rule first
//!   ([`docvault_core::model::relative_path_problem`]): `/`-separated names, no empty, `.` or
//!   `..` segment, no backslash, no control character. Anything else is refused before any
//!   system call.
//! * No symbolic link is followed, anywhere below the root: natively each directory on the way
//!   is opened relative to the one before with `O_NOFOLLOW` (`openat`), and the file itself
//!   too, so a link swapped into the middle of a path between a check and a use is refused,
//!   never followed (no window between check and use). Only the root itself is opened by its
//!   path, as the user gave it.
//! * Files are opened non-blocking and must be regular files: a FIFO or a device put where a
//!   file was expected is refused, never read (a FIFO would block forever).
//! * New files are created exclusively (`O_CREAT | O_EXCL`, which never follows a link) under
//!   unpredictable names ([`TempFile`]), then renamed or linked into place.
//!
//! **In a WASI sandbox** (the CLI built for `wasm32-wasip1`) the runtime confines every path
//! to the directories it granted, whatever the guest does. There, WASI preview 1 offers no
//! `openat` through stable Rust, so links below a grant are refused by checking each component
//! before use: a link swapped in concurrently by another process on the host can race that
//! check, but even then only within the grant. File locks do not exist there either
//! ([`Lock::Unsupported`]); `docvault-wasmtime` takes the lock on the host for its guest.

mod lock;
mod meta;
#[cfg(not(target_os = "wasi"))]
mod native;
mod root;
mod temp;
#[cfg(target_os = "wasi")]
mod wasi;

pub use lock::Lock;
pub use meta::{Kind, Meta};
pub use root::{Entry, Root, file_meta};
pub use temp::TempFile;
