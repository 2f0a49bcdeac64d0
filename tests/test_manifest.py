"""data_samples/MANIFEST: complete, correct, and a changed byte is caught."""

import hashlib
import os
import shutil

import pytest

from prernn_lite.data import manifest as mf
from prernn_lite.data.manifest import (
    ManifestReport,
    read_manifest,
    samples_dir,
    verify_manifest,
    write_manifest,
)


def test_manifest_lists_every_file_with_its_sha256():
    root = samples_dir()
    listed = read_manifest(root / "MANIFEST")
    on_disk = set()
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
            if rel != "MANIFEST":
                on_disk.add(rel)
    assert set(listed) == on_disk
    for rel, digest in listed.items():
        assert hashlib.sha256((root / rel).read_bytes()).hexdigest() == digest, rel
    assert verify_manifest(root).ok


def test_sha256sum_format_and_known_digest(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"abc")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"")
    write_manifest(tmp_path)
    assert (tmp_path / "MANIFEST").read_text() == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a.txt\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  sub/b.bin\n"
    )


def test_changed_missing_and_extra_files_are_reported(tmp_path):
    copy = tmp_path / "samples"
    shutil.copytree(samples_dir(), copy)
    assert verify_manifest(copy).ok
    target = copy / "300vw" / "001" / "vid.avi"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 1  # one bit of one byte
    target.write_bytes(bytes(data))
    (copy / "bad" / "wrong_count.pts").unlink()
    (copy / "new_weights.pt").write_bytes(b"x")
    rep = verify_manifest(copy)
    assert rep == ManifestReport(missing=["bad/wrong_count.pts"], extra=["new_weights.pt"],
                                 changed=["300vw/001/vid.avi"])
    assert not rep.ok and "300vw/001/vid.avi" in str(rep)
    assert mf.main(["verify", str(copy)]) == 1
    assert mf.main(["write", str(copy)]) == 0  # adding files = rewriting the MANIFEST
    assert verify_manifest(copy).ok


def test_malformed_manifest_line_names_file_and_line(tmp_path):
    (tmp_path / "MANIFEST").write_text("0" * 64 + "  a\nnot a hash  b\n")
    with pytest.raises(ValueError, match=r"MANIFEST:2:"):
        read_manifest(tmp_path / "MANIFEST")


def test_samples_dir_missing_gives_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PRERNN_LITE_SAMPLES", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="PRERNN_LITE_SAMPLES"):
        samples_dir()
    monkeypatch.setenv("PRERNN_LITE_SAMPLES", str(tmp_path))
    assert samples_dir() == tmp_path


def test_data_samples_stays_small():
    total = sum(p.stat().st_size for p in samples_dir().rglob("*") if p.is_file())
    assert total < 20 * 2**20


def test_check_file_names_file_manifest_and_both_digests(monkeypatch, tmp_path):
    copy = tmp_path / "samples"
    shutil.copytree(samples_dir(), copy)
    monkeypatch.setenv("PRERNN_LITE_SAMPLES", str(copy))
    target = copy / "weights" / "faces_rgb.pt"
    listed = hashlib.sha256(target.read_bytes()).hexdigest()
    assert mf.check_file(target) is True  # listed and unchanged
    data = bytearray(target.read_bytes())
    data[-1] ^= 1
    target.write_bytes(bytes(data))
    changed = hashlib.sha256(bytes(data)).hexdigest()
    with pytest.raises(ValueError) as err:
        mf.check_file(target)
    msg = str(err.value)
    assert msg.startswith(f"{target.resolve()}: sha256 {changed} differs from {listed}")
    assert str(copy.resolve() / "MANIFEST") in msg and "weights/faces_rgb.pt" in msg
    monkeypatch.chdir(copy)  # a relative path is the same file
    with pytest.raises(ValueError, match="faces_rgb.pt: sha256"):
        mf.check_file("weights/faces_rgb.pt")


def test_check_file_skips_files_it_has_nothing_to_check_against(monkeypatch, tmp_path):
    copy = tmp_path / "samples"
    shutil.copytree(samples_dir(), copy)
    monkeypatch.setenv("PRERNN_LITE_SAMPLES", str(copy))
    (copy / "weights" / "new.pt").write_bytes(b"not listed")
    assert mf.check_file(copy / "weights" / "new.pt") is False  # not in the MANIFEST
    (tmp_path / "elsewhere.pt").write_bytes(b"outside")
    assert mf.check_file(tmp_path / "elsewhere.pt") is False  # outside data_samples/
    (copy / "MANIFEST").unlink()  # e.g. a temporary folder of weights
    (copy / "weights" / "faces_rgb.pt").write_bytes(b"changed")
    assert mf.check_file(copy / "weights" / "faces_rgb.pt") is False
    monkeypatch.setenv("PRERNN_LITE_SAMPLES", str(tmp_path / "nowhere"))
    assert mf.check_file(tmp_path / "elsewhere.pt") is False
