//! The one door holds: no path below a root leaves it or follows a link, whatever is planted or
//! swapped in; FIFOs and huge files are refused without blocking or reading them.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::symlink;
use std::path::Path;

use docvault_fs::{Kind, Root};

fn tree() -> (tempfile::TempDir, tempfile::TempDir, Root) {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret.txt"), b"outside").unwrap();
    let inside = tempfile::tempdir().unwrap();
    fs::create_dir_all(inside.path().join("a/b")).unwrap();
    fs::write(inside.path().join("a/b/doc.txt"), b"inside").unwrap();
    let root = Root::open(inside.path()).unwrap();
    (outside, inside, root)
}

fn read(root: &Root, rel: &str) -> std::io::Result<Vec<u8>> {
    let (mut f, _) = root.open_file(rel)?;
    let mut out = Vec::new();
    f.read_to_end(&mut out)?;
    Ok(out)
}

#[test]
fn paths_that_could_leave_the_root_are_refused_before_any_call() {
    let (_o, _i, root) = tree();
    for bad in [
        "../x",
        "a/../../x",
        "/etc/passwd",
        "a//b",
        "",
        ".",
        "a\\b",
        "a\nb",
    ] {
        let e = root.open_file(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}: {e}");
        assert!(root.create_dirs(bad).is_err() || bad.is_empty(), "{bad:?}");
    }
    assert_eq!(read(&root, "a/b/doc.txt").unwrap(), b"inside");
}

#[test]
fn a_link_anywhere_on_the_way_is_never_followed() {
    let (outside, inside, root) = tree();
    symlink(outside.path(), inside.path().join("a/out")).unwrap();
    symlink(
        outside.path().join("secret.txt"),
        inside.path().join("a/file-link"),
    )
    .unwrap();
    for rel in ["a/out/secret.txt", "a/file-link"] {
        let e = read(&root, rel).unwrap_err();
        assert_ne!(e.kind(), ErrorKind::NotFound, "{rel}: {e}");
    }
    let e = root.create_dirs("a/out/new").unwrap_err();
    assert!(e.to_string().contains("links are never followed"), "{e}");
    assert!(!outside.path().join("new").exists());
    assert!(root.read_dir("a/out").is_err());
    assert!(root.temp_file("a/out").is_err());
    assert!(root.lock("a/out/lock").is_err());
    // Removing a link removes the link, and a tree with links in it is removed without
    // touching what the links point to.
    fs::create_dir_all(inside.path().join("tmp/x")).unwrap();
    symlink(outside.path(), inside.path().join("tmp/x/out")).unwrap();
    root.remove_dir_all("tmp").unwrap();
    assert!(!inside.path().join("tmp").exists());
    assert_eq!(
        fs::read(outside.path().join("secret.txt")).unwrap(),
        b"outside"
    );
    // The listing shows links as links.
    let kinds: Vec<(String, Kind)> = root
        .read_dir("a")
        .unwrap()
        .into_iter()
        .map(|e| (e.name.to_string_lossy().into_owned(), e.kind))
        .collect();
    assert!(kinds.contains(&("out".into(), Kind::Symlink)), "{kinds:?}");
}

/// A directory swapped for a link after it was checked: the open that follows still refuses
/// it (each component is opened with `O_NOFOLLOW`; there is no path to re-resolve).
#[test]
fn a_directory_swapped_for_a_link_between_check_and_use_is_refused() {
    let (outside, inside, root) = tree();
    fs::create_dir_all(outside.path().join("b")).unwrap();
    fs::write(outside.path().join("b/doc.txt"), b"planted").unwrap();
    assert!(root.metadata("a/b/doc.txt").unwrap().unwrap().is_file());
    fs::rename(inside.path().join("a"), inside.path().join("a-moved")).unwrap();
    symlink(outside.path(), inside.path().join("a")).unwrap();
    assert!(
        read(&root, "a/b/doc.txt").is_err(),
        "never the planted file"
    );
}

#[test]
fn special_files_are_refused_without_blocking() {
    let (_o, inside, root) = tree();
    let fifo = inside.path().join("a/fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let e = root.open_file("a/fifo").unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
    assert!(root.read_limited("a/fifo", 1 << 20).is_err());
    symlink("/dev/zero", inside.path().join("a/zero")).unwrap();
    assert!(
        root.read_limited("a/zero", 1 << 20).is_err(),
        "a link to /dev/zero"
    );
}

#[test]
fn reads_are_bounded() {
    let (_o, inside, root) = tree();
    fs::write(inside.path().join("a/big"), vec![b'x'; 4096]).unwrap();
    assert_eq!(root.read_limited("a/big", 4096).unwrap().len(), 4096);
    let e = root.read_limited("a/big", 4095).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::FileTooLarge, "{e}");
}

#[test]
fn temporary_files_are_exclusive_and_commit_without_clobbering() {
    let (outside, inside, root) = tree();
    // A link planted at a predictable name changes nothing: names are random and exclusive.
    symlink(
        outside.path().join("secret.txt"),
        inside.path().join("a/.doc.txt.docvault-partial"),
    )
    .unwrap();
    let mut t = root.temp_file("a").unwrap();
    t.file().write_all(b"new body").unwrap();
    let e = t.commit_new(&root, "a/b/doc.txt").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(read(&root, "a/b/doc.txt").unwrap(), b"inside");
    let mut t = root.temp_file("a").unwrap();
    t.file().write_all(b"fresh").unwrap();
    t.commit_new(&root, "a/b/new.txt").unwrap();
    assert_eq!(read(&root, "a/b/new.txt").unwrap(), b"fresh");
    let mut t = root.temp_file("a").unwrap();
    t.file().write_all(b"replaced").unwrap();
    t.commit_replace(&root, "a/b/doc.txt").unwrap();
    assert_eq!(read(&root, "a/b/doc.txt").unwrap(), b"replaced");
    let dropped = root.temp_file("a").unwrap().path();
    assert!(
        !dropped.exists(),
        "an uncommitted temporary file removes itself"
    );
    let left: Vec<String> = fs::read_dir(inside.path().join("a"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(
        fs::read(outside.path().join("secret.txt")).unwrap(),
        b"outside"
    );
}

#[test]
fn a_lock_is_exclusive_and_released_on_drop() {
    let (_o, _i, root) = tree();
    let held = root.lock("a/.lock").unwrap();
    assert!(held.is_held());
    let other = Root::open(root.path()).unwrap();
    let e = other.lock("a/.lock").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e}");
    drop(held);
    assert!(other.lock("a/.lock").unwrap().is_held());
}

#[test]
fn change_detection_sees_a_write_with_the_time_put_back() {
    let (_o, inside, root) = tree();
    let path = inside.path().join("a/b/doc.txt");
    let before = root.metadata("a/b/doc.txt").unwrap().unwrap();
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&path, b"INSIDE").unwrap();
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let after = root.metadata("a/b/doc.txt").unwrap().unwrap();
    assert_eq!((before.len, before.modified), (after.len, after.modified));
    assert!(before.changed_by(&after), "the status-change time moved");
    assert!(Path::new(&path).exists());
}
