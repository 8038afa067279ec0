"""The docvault CLI compiled for wasm32-wasip1, run by stock `wasmtime run`: the same bytes as the
native build and the golden files, a real backup/verify/restore inside the sandbox, and a
sandbox that reaches nothing it was not granted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import AT, DATE, DAY, GOLDEN, cmp_trees, make_source, tree

DAY_DIR = f"backups/{DATE}"


@pytest.mark.parametrize(
    "count, golden",
    [("500", "manifest-500-2026-11-27.json"), ("0", "manifest-empty-2026-11-27.json")],
)
def test_manifest_is_byte_identical_to_native_and_golden(hosts, count, golden):
    args = ["manifest", "--generate", count, *DAY]
    wasm = hosts.guest(args).ok().out
    native = hosts.host(args).ok().out
    assert wasm == native
    assert wasm == (GOLDEN / golden).read_bytes()


def test_generate_and_summary_are_byte_identical_to_native(hosts, tmp_path):
    (tmp_path / "wasm").mkdir()
    hosts.guest(
        ["generate", "--count", "60", "--date", DATE, "--seed", "7", "--out", "/out"],
        {tmp_path / "wasm": "/out"},
    ).ok()
    hosts.host(
        ["generate", "--count", "60", "--date", DATE, "--seed", "7", "--out", str(tmp_path / "native")]
    ).ok()
    assert cmp_trees(tmp_path / "native", tmp_path / "wasm") == 60
    summary = ["summary", "--count", "500", "--date", DATE]
    assert hosts.guest(summary).ok().out == hosts.host(summary).ok().out


def test_generated_day_backs_up_verifies_and_restores_byte_for_byte(hosts, tmp_path):
    dst, out = tmp_path / "dst", tmp_path / "out"
    dst.mkdir(), out.mkdir()
    grants = {dst: "/dst", out: "/out"}
    backup = ["backup", "--generate", "500", "--dest", "/dst", *DAY, "--json", "--quiet"]
    result = hosts.guest(backup, grants).ok().json()
    assert (result["status"], result["uploaded"], result["failed"]) == ("complete", 500, [])
    # The manifest the sandboxed backup committed is the golden one.
    assert (dst / DAY_DIR / "manifest.json").read_bytes() == (
        GOLDEN / "manifest-500-2026-11-27.json"
    ).read_bytes()

    report = hosts.guest(["verify", "--dest", "/dst", "--date", DATE, "--json", "-q"], grants).ok().json()
    assert (report["clean"], report["verified"], report["problems"]) == (True, 500, 0)

    restored = hosts.guest(
        ["restore", "--dest", "/dst", "--date", DATE, "--to", "/out/day", "--json", "-q"], grants
    ).ok().json()
    assert (restored["restored"], restored["failed"]) == (500, [])
    hosts.host(["generate", "--count", "500", "--date", DATE, "--out", str(tmp_path / "native")]).ok()
    assert cmp_trees(tmp_path / "native", out / "day") == 500

    # One document alone.
    hosts.guest(
        ["restore", "--dest", "/dst", "--date", DATE, "--to", "/out/one", "--document", "memo_0004", "-q"],
        grants,
    ).ok()
    assert list(tree(out / "one")) == ["memo_0004.txt"]

    # A rerun (an at-least-once retry) finds the day complete and rewrites nothing.
    before = {rel: p.stat().st_mtime_ns for rel, p in tree(dst).items()}
    again = hosts.guest(backup, grants).ok().json()
    assert again["status"] == "already-complete"
    assert {rel: p.stat().st_mtime_ns for rel, p in tree(dst).items()} == before


def test_directory_backup_matches_native_and_restores_byte_for_byte(hosts, tmp_path):
    src = make_source(tmp_path)
    dst, out = tmp_path / "dst", tmp_path / "out"
    dst.mkdir(), out.mkdir()
    grants = {src: "/src", dst: "/dst", out: "/out"}
    args = ["--date", DATE, "--at", AT, "--env", "dev", "--run-id", "nightly-1", "--json", "-q"]
    result = hosts.guest(["backup", "--source", "/src", "--dest", "/dst", *args], grants).ok().json()
    assert (result["status"], result["uploaded"], result["failed"]) == ("complete", 45, [])

    # The native build backs up the same directory into the same layout, byte for byte; the
    # manifests differ only in the source path each was given.
    native_dst = tmp_path / "native-dst"
    hosts.host(["backup", "--source", str(src), "--dest", str(native_dst), *args]).ok()
    docs = f"{DAY_DIR}/documents"
    assert cmp_trees(native_dst / docs, dst / docs) == 45
    native_manifest = (native_dst / DAY_DIR / "manifest.json").read_bytes()
    source_path = json.dumps(str(src)).encode()
    assert native_manifest.count(source_path) == 1
    assert native_manifest.replace(source_path, b'"/src"') == (dst / DAY_DIR / "manifest.json").read_bytes()

    hosts.guest(["verify", "--dest", "/dst", "--date", DATE, "-q"], grants).ok()
    hosts.guest(["restore", "--dest", "/dst", "--date", DATE, "--to", "/out/day", "-q"], grants).ok()
    assert cmp_trees(src, out / "day") == 45
    # The native build verifies what the sandbox wrote.
    hosts.host(["verify", "--dest", str(dst), "--date", DATE, "-q"]).ok()


def test_links_out_of_the_source_are_not_followed(hosts, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "finance").mkdir(parents=True), dst.mkdir()
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("TOP-SECRET host file\n")
    (src / "finance" / "a.txt").write_text("a document\n")
    (src / "finance" / "link.txt").symlink_to(secret)
    (src / "dir-link").symlink_to(secret.parent)
    (src / "dangling").symlink_to("/etc/passwd")

    result = hosts.guest(
        ["backup", "--source", "/src", "--dest", "/dst", "--date", DATE, "--at", AT, "--json", "-q"],
        {src: "/src", dst: "/dst"},
    ).ok().json()
    assert result["uploaded"] == 1
    assert sorted(s["path"] for s in result["skipped"]) == ["dangling", "dir-link", "finance/link.txt"]
    assert list(tree(dst / DAY_DIR / "documents")) == ["finance/a.txt"]
    for path in tree(dst).values():
        assert b"TOP-SECRET" not in path.read_bytes()


@pytest.mark.parametrize(
    "source, dest",
    [
        ("/src/../../outside", "/dst"),  # `..` past the root of a grant
        ("/src/../outside", "/dst"),
        ("OUTSIDE", "/dst"),  # an absolute host path that was never granted
        ("/src", "/dst/../../outside/written-here"),
    ],
)
def test_paths_out_of_the_grants_are_refused(hosts, tmp_path, source, dest):
    src, dst, outside = tmp_path / "src", tmp_path / "dst", tmp_path / "outside"
    for d in (src, dst, outside):
        d.mkdir()
    (src / "a.txt").write_text("a\n")
    (outside / "secret.txt").write_text("TOP-SECRET\n")
    source = str(outside) if source == "OUTSIDE" else source
    run = hosts.guest(
        ["backup", "--source", source, "--dest", dest, "--date", DATE, "--at", AT, "-q"],
        {src: "/src", dst: "/dst"},
    )
    assert run.code == 3, run.err
    assert "not granted to the sandbox" in run.err
    assert list(tree(dst)) == [] and list(tree(outside)) == ["secret.txt"]


def test_a_guest_without_grants_reads_nothing(hosts, tmp_path):
    (tmp_path / "a.txt").write_text("a\n")
    run = hosts.guest(["validate", str(tmp_path / "a.txt")])
    assert run.code == 3 and "not granted to the sandbox" in run.err
    run = hosts.guest(["verify", "--dest", str(tmp_path), "--date", DATE])
    assert run.code == 3 and "not granted to the sandbox" in run.err


def test_tampering_is_found_by_verify_and_refused_by_restore(hosts, tmp_path):
    dst, out = tmp_path / "dst", tmp_path / "out"
    dst.mkdir(), out.mkdir()
    grants = {dst: "/dst", out: "/out"}
    hosts.guest(["backup", "--generate", "20", "--dest", "/dst", *DAY, "-q"], grants).ok()
    docs = dst / DAY_DIR / "documents"
    body = bytearray((docs / "invoice_0005.csv").read_bytes())
    body[0] ^= 1  # same size, other bytes
    (docs / "invoice_0005.csv").write_bytes(bytes(body))
    (docs / "memo_0009.txt").unlink()
    (docs / "stray.bin").write_bytes(b"not from docvault")

    run = hosts.guest(["verify", "--dest", "/dst", "--date", DATE, "--json", "-q"], grants)
    assert run.code == 1
    report = run.json()
    assert [m["key"] for m in report["checksum_mismatch"]] == [f"{DAY_DIR}/documents/invoice_0005.csv"]
    assert report["missing"] == [f"{DAY_DIR}/documents/memo_0009.txt"]
    assert report["extra"] == [f"{DAY_DIR}/documents/stray.bin"]
    assert (report["verified"], report["problems"]) == (18, 3)

    run = hosts.guest(
        ["restore", "--dest", "/dst", "--date", DATE, "--to", "/out/r", "--document", "invoice_0005", "--json", "-q"],
        grants,
    )
    assert run.code == 1
    assert [f["document_id"] for f in run.json()["failed"]] == ["invoice_0005"]
    assert not (out / "r" / "invoice_0005.csv").exists()
    assert [p.name for p in (out / "r").rglob("*") if p.is_file()] == []


def test_a_non_utf8_name_fails_its_directory_and_a_rerun_completes_the_day(hosts, tmp_path):
    # WASI carries names as UTF-8 strings: the runtime cannot list a directory holding a name
    # that is not. Below the source root, that directory becomes a recorded failure.
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "hr").mkdir(parents=True), dst.mkdir()
    (src / "good.txt").write_text("fine\n")
    (src / "hr" / "ok.txt").write_text("also fine\n")
    bad = os.path.join(os.fsencode(src / "hr"), b"bad-\xff.txt")
    with open(bad, "wb") as f:
        f.write(b"a name that is not UTF-8\n")
    grants = {src: "/src", dst: "/dst"}
    backup = ["backup", "--source", "/src", "--dest", "/dst", "--date", DATE, "--at", AT,
              "--run-id", "first", "--json", "-q"]
    run = hosts.guest(backup, grants)
    assert run.code == 1, run.err
    result = run.json()
    assert (result["status"], result["uploaded"]) == ("incomplete", 1)
    assert [f["document_id"] for f in result["failed"]] == ["hr/"]
    assert "could not be listed" in result["failed"][0]["reason"]
    assert not (dst / DAY_DIR / "manifest.json").exists()
    assert (dst / DAY_DIR / "incomplete" / "first.json").is_file()

    os.rename(bad, src / "hr" / "renamed.txt")
    backup[backup.index("first")] = "second"
    result = hosts.guest(backup, grants).ok().json()
    assert (result["status"], result["uploaded"], result["already_stored"]) == ("complete", 2, 1)
    hosts.guest(["verify", "--dest", "/dst", "--date", DATE, "-q"], grants).ok()


def test_a_non_utf8_name_at_the_source_root_is_a_clear_error(hosts, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir(), dst.mkdir()
    with open(os.path.join(os.fsencode(src), b"bad-\xff.txt"), "wb") as f:
        f.write(b"x")
    run = hosts.guest(
        ["backup", "--source", "/src", "--dest", "/dst", "--date", DATE, "--at", AT, "-q"],
        {src: "/src", dst: "/dst"},
    )
    assert run.code == 3
    assert "not valid UTF-8" in run.err and "rename it" in run.err
    # Nothing but the day's lock file, taken before the source is read.
    assert list(tree(dst)) == [f"{DAY_DIR}/.lock"]


def test_validate_reads_a_day_in_parts_inside_the_sandbox(hosts, tmp_path):
    """The golden day in parts, validated by the WASI build under stock `wasmtime run` with the
    day's folder granted: its parts are read beside the root; an altered part is named."""
    day = tmp_path / "day"
    (day / "manifest-parts").mkdir(parents=True)
    src = GOLDEN / "parted-2026-11-27"
    (day / "manifest.json").write_bytes((src / "manifest.json").read_bytes())
    parts = sorted((src / "manifest-parts").iterdir())
    for p in parts:
        (day / "manifest-parts" / p.name).write_bytes(p.read_bytes())
    run = hosts.guest(["validate", "/day/manifest.json"], {day: "/day"})
    assert run.code == 0 and "5 documents, 0 failed, in 3 parts" in run.err, run.err
    assert run.err.replace("/day/", "") == \
        hosts.host(["validate", str(day / "manifest.json")]).err.replace(f"{day}/", "")
    victim = day / "manifest-parts" / parts[2].name
    victim.write_bytes(victim.read_bytes().replace(b'"sales"', b'"legal"'))
    run = hosts.guest(["validate", "/day/manifest.json"], {day: "/day"})
    assert run.code == 1 and "part 2" in run.err and "altered or replaced" in run.err, run.err
