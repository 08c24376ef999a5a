"""Weight files are hashed once and the digest remembered across processes, keyed
by path, size, mtime and inode (helpers.llm.file_hashes)."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.llm import file_hashes

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(autouse=True)
def own_store(tmp_path, monkeypatch):
    # A store of this test's own, not the session's (one test damages it on purpose).
    monkeypatch.setenv("EXCEPTIONS_MODELS", str(tmp_path / "models"))


def _hash_in_another_process(path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", "import sys; from helpers.llm import file_hashes; "
                           "print(file_hashes.sha256(sys.argv[1]))", str(path)],
                          env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_the_digest_is_the_files_sha256(tmp_path):
    path = tmp_path / "w.bin"
    path.write_bytes(b"weights" * 1000)
    assert file_hashes.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_digest_stored_by_one_process_is_used_by_the_next_without_reading_the_file(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"A" * 4096)
    first = _hash_in_another_process(path)
    assert first == hashlib.sha256(b"A" * 4096).hexdigest()
    assert file_hashes.store_path().is_file()
    # Rewrite the content in place with the same size and put the mtime back: only a
    # lookup that does not read the file still gives the old digest. (That is the
    # documented caveat of a stat-keyed memo, and the proof that it is one.)
    stat = path.stat()
    with open(path, "r+b") as fh:
        fh.write(b"B" * 4096)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns, path.stat().st_ino) == \
        (stat.st_size, stat.st_mtime_ns, stat.st_ino)
    assert file_hashes.sha256(path) == first
    # A new mtime (what any real rewrite gives) is hashed again, here and in the store.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    fresh = hashlib.sha256(b"B" * 4096).hexdigest()
    assert file_hashes.sha256(path) == fresh
    assert _hash_in_another_process(path) == fresh


def test_a_changed_size_is_hashed_again(tmp_path):
    path = tmp_path / "w.bin"
    path.write_bytes(b"x" * 10)
    before = file_hashes.sha256(path)
    stat = path.stat()
    path.write_bytes(b"x" * 11)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert file_hashes.sha256(path) != before


def test_a_damaged_store_costs_only_a_re_hash(tmp_path):
    file_hashes.store_path().parent.mkdir(parents=True, exist_ok=True)
    file_hashes.store_path().write_bytes(b"not a database")
    path = tmp_path / "w.bin"
    path.write_bytes(b"y" * 100)
    assert file_hashes.sha256(path) == hashlib.sha256(b"y" * 100).hexdigest()
