//! Temporary files created exclusively under unpredictable names, then put in place: renamed
//! over a target, or linked in only where nothing is (the local form of `If-None-Match: *`).

use std::fs::File;
use std::hash::{BuildHasher as _, Hasher as _, RandomState};
use std::io::{self, Write as _};
use std::path::PathBuf;

use crate::root::{Root, sys};

/// A file being written under a temporary name in one directory. Dropped without being
/// committed, it removes itself, so an error never leaves it behind.
#[derive(Debug)]
pub struct TempFile {
    dir: sys::Dir,
    dir_path: PathBuf,
    name: String,
    file: Option<File>,
    committed: bool,
}

/// A name nobody can predict (so nobody can plant a link there first; the exclusive creation
/// refuses one anyway).
fn random_name() -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!(".docvault-{:016x}.tmp", h.finish())
}

impl TempFile {
    pub(crate) fn create_in(dir: sys::Dir, dir_path: PathBuf) -> io::Result<Self> {
        for _ in 0..16 {
            let name = random_name();
            match sys::open_file(&dir, &name, sys::Open::CreateNew) {
                Ok(file) => {
                    return Ok(Self {
                        dir,
                        dir_path,
                        name,
                        file: Some(file),
                        committed: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(format!(
            "could not create a temporary file in {}",
            dir_path.display()
        )))
    }

    /// The open file.
    pub fn file(&mut self) -> &mut File {
        self.file
            .as_mut()
            .unwrap_or_else(|| unreachable!("the file is open until commit"))
    }

    /// Where it is, for messages.
    pub fn path(&self) -> PathBuf {
        self.dir_path.join(&self.name)
    }

    fn flush_to_disk(&mut self) -> io::Result<()> {
        let file = self.file();
        file.flush()?;
        file.sync_all()?;
        self.file = None;
        Ok(())
    }

    /// Flushes to disk and renames onto `target` (a path below `root`), replacing whatever
    /// file is there.
    ///
    /// # Errors
    /// A link on the way to `target`, or the rename fails.
    pub fn commit_replace(mut self, root: &Root, target: &str) -> io::Result<()> {
        self.flush_to_disk()?;
        let (to, name) = root.parent_of(target)?;
        sys::rename(&self.dir, &self.name, &to, name)?;
        self.committed = true;
        Ok(())
    }

    /// Flushes to disk and puts the file at `target` only if nothing is there
    /// ([`io::ErrorKind::AlreadyExists`] otherwise).
    ///
    /// # Errors
    /// Something is at `target`, a link on the way, or the filesystem refuses.
    pub fn commit_new(mut self, root: &Root, target: &str) -> io::Result<()> {
        self.flush_to_disk()?;
        let (to, name) = root.parent_of(target)?;
        let linked = sys::link_new(&self.dir, &self.name, &to, name)?;
        self.committed = !linked;
        // Linked: the temporary name is only clutter now (Drop removes it).
        Ok(())
    }
}

impl TempFile {
    /// Commits at `target`: replacing what is there when `overwrite`, else only where nothing
    /// is ([`commit_replace`](Self::commit_replace), [`commit_new`](Self::commit_new)).
    ///
    /// # Errors
    /// As those.
    pub fn commit_at(self, root: &Root, target: &str, overwrite: bool) -> io::Result<()> {
        if overwrite {
            self.commit_replace(root, target)
        } else {
            self.commit_new(root, target)
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.file = None;
        if !self.committed {
            let _ = sys::unlink(&self.dir, &self.name);
        }
    }
}
