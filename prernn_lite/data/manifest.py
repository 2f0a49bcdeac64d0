"""``data_samples/`` and its MANIFEST: where the small committed files live, and proof
that they are the ones the book was built with.

``data_samples/`` sits next to the ``prernn_lite`` package in the repository (format
fixtures of the real datasets, lite weights). :func:`samples_dir` finds it — or the
folder named by the environment variable ``PRERNN_LITE_SAMPLES`` — and says clearly
when a non-editable install has no such folder.

``data_samples/MANIFEST`` lists ``<sha256>  <relative/path>`` for every file, the format
of ``sha256sum`` (so ``cd data_samples && sha256sum -c MANIFEST`` checks it too). The
MANIFEST itself and ``__pycache__`` folders are not listed. After adding or
regenerating files, rewrite it::

    python -m prernn_lite.data.manifest write data_samples
    python -m prernn_lite.data.manifest verify data_samples
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "MANIFEST_NAME",
    "ManifestReport",
    "samples_dir",
    "hash_tree",
    "read_manifest",
    "write_manifest",
    "verify_manifest",
    "check_file",
]

MANIFEST_NAME = "MANIFEST"
_SKIP_DIRS = {"__pycache__"}


def samples_dir() -> Path:
    """The repository's ``data_samples/`` folder.

    ``$PRERNN_LITE_SAMPLES`` overrides the location. Otherwise the folder next to the
    package (``<repo>/data_samples``) is used; it exists in a clone or an editable install.

    Raises
    ------
    FileNotFoundError
        No such folder (e.g. a wheel install): the message says how to get one.

    Examples
    --------
    >>> (samples_dir() / MANIFEST_NAME).is_file()
    True
    """
    env = os.environ.get("PRERNN_LITE_SAMPLES")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "data_samples"
    if not path.is_dir():
        raise FileNotFoundError(
            f"{path}: data_samples/ folder not found. It ships with the repository, not "
            "with an installed wheel: clone the repository and `pip install -e .`, or "
            "point the environment variable PRERNN_LITE_SAMPLES at a copy of data_samples/."
        )
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def hash_tree(root: str | Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (MANIFEST and ``__pycache__`` excluded).

    Returns
    -------
    dict
        ``{"relative/posix/path": hexdigest}``, sorted by path.
    """
    root = Path(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if rel != MANIFEST_NAME:
                out[rel] = _sha256(p)
    return dict(sorted(out.items()))


def read_manifest(path: str | Path) -> dict[str, str]:
    """Parse a MANIFEST (``sha256sum`` format); a malformed line names file and line."""
    path = Path(path)
    out = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"{path}:{n}: expected '<sha256 hex>  <path>', found {line!r}")
        out[rel.strip()] = digest
    return out


def write_manifest(root: str | Path) -> Path:
    """Write ``root/MANIFEST`` for every file now under ``root``; returns its path."""
    root = Path(root)
    lines = [f"{d}  {rel}\n" for rel, d in hash_tree(root).items()]
    out = root / MANIFEST_NAME
    out.write_text("".join(lines))
    return out


@dataclass
class ManifestReport:
    """Result of :func:`verify_manifest`: relative paths that differ from the MANIFEST."""

    missing: list[str] = field(default_factory=list)  # listed, not on disk
    extra: list[str] = field(default_factory=list)  # on disk, not listed
    changed: list[str] = field(default_factory=list)  # listed with another sha256

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.changed)

    def __str__(self) -> str:
        if self.ok:
            return "MANIFEST ok"
        parts = [f"{k}: {', '.join(v)}" for k, v in vars(self).items() if v]
        return "MANIFEST mismatch — " + "; ".join(parts)


def verify_manifest(root: str | Path | None = None) -> ManifestReport:
    """Compare the files under ``root`` (default :func:`samples_dir`) with its MANIFEST.

    Examples
    --------
    >>> verify_manifest().ok
    True
    """
    root = samples_dir() if root is None else Path(root)
    listed = read_manifest(root / MANIFEST_NAME)
    present = hash_tree(root)
    return ManifestReport(
        missing=sorted(set(listed) - set(present)),
        extra=sorted(set(present) - set(listed)),
        changed=sorted(k for k in set(listed) & set(present) if listed[k] != present[k]),
    )


def check_file(path: str | Path) -> bool:
    """Check one file of :func:`samples_dir` against its MANIFEST before it is used.

    Parameters
    ----------
    path : str or Path
        Any file. Only a file inside the samples folder that its MANIFEST lists is
        checked; any other file (outside the folder, not listed, or a samples folder
        without a MANIFEST, such as a temporary copy of the weights) is not.

    Returns
    -------
    bool
        True when the file was checked (and matches), False when there was nothing to
        check it against.

    Raises
    ------
    ValueError
        The file's sha256 differs from the MANIFEST's; the message names the file, the
        MANIFEST and both digests.

    Examples
    --------
    >>> check_file(samples_dir() / "weights" / "faces_rgb.pt")
    True
    >>> check_file(__file__)   # not in data_samples/
    False
    """
    try:
        root = samples_dir().resolve()
    except FileNotFoundError:  # no samples folder: no file can lie inside it
        return False
    file = Path(path).resolve()
    manifest = root / MANIFEST_NAME
    if not file.is_relative_to(root) or not manifest.is_file():
        return False
    rel = file.relative_to(root).as_posix()
    listed = read_manifest(manifest).get(rel)
    if listed is None:
        return False
    actual = _sha256(file)
    if actual != listed:
        raise ValueError(
            f"{file}: sha256 {actual} differs from {listed}, the digest {manifest} lists for "
            f"{rel}. The file changed since the MANIFEST was written: restore it (git "
            "checkout), or if the change is intended, rewrite the MANIFEST with "
            f"`python -m prernn_lite.data.manifest write {root}`."
        )
    return True


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m prernn_lite.data.manifest {write,verify} DIR``; verify exits 1 if not ok."""
    ap = argparse.ArgumentParser(prog="python -m prernn_lite.data.manifest", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["write", "verify"])
    ap.add_argument("dir", type=Path)
    args = ap.parse_args(argv)
    if args.command == "write":
        out = write_manifest(args.dir)
        print(f"wrote {out} ({len(read_manifest(out))} files)")
        return 0
    report = verify_manifest(args.dir)
    print(report)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
