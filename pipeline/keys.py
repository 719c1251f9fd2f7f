"""Stage keys: one place that says what a stage's output depends on, so no result is ever stale.

A stage's key covers everything that changes its numbers:

- the config that matters (never the experiment, run name or tracking store);
- the code of the stage and of everything it imports from this package (:func:`code_files` follows
  the imports, so ``pipeline.segment`` covers ``pipeline.models.embedder``, which the topics method
  runs), less the modules that cannot change a result (:data:`NO_RESULT_CODE`);
- the resolved models (:func:`resolve_model`): a registry alias as its store, name and version; a run
  as its store and run id; a local folder as a digest of its files; a Hub id with its revision;
- the versions of the libraries that shape the output (:data:`LIBRARIES`) and the precision the
  machine computes in (bf16 or fp32).

The corpus resume key, the stage cache, the in-process model cache (``pipeline.score.models``) and
the reuse of trained models (``pipeline.training.api``) all use these keys; runs log their parts
(``keys.json``) and :func:`changed_parts` says which part made a run recompute.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.errors import ModelError

PACKAGE = "pipeline"
#: Modules that never change a number (tracking, messages, signals, reports, these keys themselves):
#: left out of code keys.
NO_RESULT_CODE = ("pipeline", "pipeline.tracking", "pipeline.errors", "pipeline.interrupts", "pipeline.cli",
                  "pipeline.report", "pipeline.bench", "pipeline.progress", "pipeline.keys")
#: The third-party libraries whose version can change a stage's output.
LIBRARIES = {
    "segment": ("trafilatura", "lxml", "numpy", "scikit-learn", "torch", "transformers", "tokenizers"),
    "score": ("numpy", "torch", "transformers", "tokenizers", "scikit-learn", "safetensors"),
    "train": ("numpy", "torch", "transformers", "tokenizers", "scikit-learn", "safetensors", "accelerate"),
}
#: Data files a module reads that change its output (package-relative): a shipped model's weights.
CODE_DATA = {"ingest/line_model.py": "data/line_model"}
#: The package modules behind each stage (their imports are followed).
STAGE_CODE = {
    "segment": ("pipeline.ingest", "pipeline.segment", "pipeline.records"),
    "score": ("pipeline.score", "pipeline.models"),
    "train": ("pipeline.training", "pipeline.models"),
}


def digest(*parts: str | bytes) -> str:
    """A 128-bit hex digest of the parts (each length-prefixed, so ("ab", "c") != ("a", "bc"))."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()[:32]


def config_digest(data: Any) -> str:
    """The digest of a JSON-able value, independent of key order."""
    return digest(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str))


# --- code -----------------------------------------------------------------------------------------


def _package_root() -> Path:
    import pipeline

    return Path(pipeline.__file__).parent


def _module_file(name: str, root: Path) -> Path | None:
    """The file of a package module (``pipeline.a.b`` -> a/b.py or a/b/__init__.py), or None."""
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    for candidate in (root / rel.with_suffix(".py") if rel.parts else None, root / rel / "__init__.py"):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def _module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


def _imported(path: Path, name: str) -> set[str]:
    """The package modules a file imports (at any depth of the file, so lazy imports count)."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != PACKAGE:
                continue
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # `from pipeline.x import module`
    return found


def _excluded(name: str) -> bool:
    return any(name == x or (x != PACKAGE and name.startswith(x + ".")) for x in NO_RESULT_CODE)


@cache
def code_files(*modules: str) -> tuple[Path, ...]:
    """The package files behind ``modules``: a package's own files, then all they import, transitively."""
    root = _package_root()
    todo: list[Path] = []
    for name in modules:
        file = _module_file(name, root)
        if file is None:
            raise ValueError(f"no module {name} in {root}")
        todo += sorted(file.parent.glob("*.py")) if file.name == "__init__.py" else [file]
    seen: set[Path] = set()
    while todo:
        file = todo.pop()
        if file in seen:
            continue
        seen.add(file)
        for imported in _imported(file, _module_name(file, root)):
            if _excluded(imported):
                continue
            target = _module_file(imported, root)
            if target is not None and target not in seen:
                todo.append(target)
    return tuple(sorted(seen))


@cache
def code_digest(*modules: str) -> str:
    """The digest of the source of ``modules`` and of every package module they import.

    Part of every cache and resume key: a change to the code that produced a result makes it stale.
    Cached per process (a running process keeps running the code it imported).
    """
    root = _package_root()
    parts: list[bytes] = []
    for file in code_files(*modules):
        parts += [str(file.relative_to(root)).encode(), file.read_bytes()]
        data = CODE_DATA.get(file.relative_to(root).as_posix())
        for data_file in sorted((root / data).rglob("*")) if data else []:
            if data_file.is_file():
                parts += [str(data_file.relative_to(root)).encode(), data_file.read_bytes()]
    return digest(*parts)


# --- libraries and precision --------------------------------------------------------------------


def library_versions(names: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Installed version of each distribution (``absent`` where it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def precision() -> str:
    """What ``auto`` precision means on this machine: ``bf16`` where the CPU has native bf16, else fp32."""
    from pipeline.models.classifier import cpu_supports_bf16

    return "bf16" if cpu_supports_bf16() else "fp32"


# --- models ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedModel:
    """A model reference resolved to exactly what will be loaded.

    ``uri``: what to load (an alias pinned to ``models:/NAME/VERSION``, a folder as given);
    ``identity``: what the numbers depend on (store and version or run, or a digest of the files);
    ``label``: short, for tables (``models:/tone/3``, ``folder@1a2b3c4d5e6f``).
    """

    reference: str
    uri: str
    identity: str
    label: str


def _stat_signature(folder: Path) -> tuple:
    return tuple(sorted((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
                        for p in folder.rglob("*") if p.is_file()))


@cache
def _folder_digest(folder: Path, signature: tuple) -> str:
    h = hashlib.sha256()
    for rel, size, _ in signature:
        h.update(f"{rel}\0{size}\0".encode())
        with (folder / rel).open("rb") as handle:
            h.update(hashlib.file_digest(handle, "sha256").digest())
    return h.hexdigest()[:32]


def folder_digest(folder: str | Path) -> str:
    """A digest of the names and bytes of every file under ``folder`` (read once per process while the
    files keep their sizes and mtimes)."""
    path = Path(folder).expanduser().resolve()
    return _folder_digest(path, _stat_signature(path))


def _store() -> str:
    import mlflow

    return mlflow.get_tracking_uri()


def resolve_model(reference: str) -> ResolvedModel:
    """Resolve a classifier reference (``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, ``runs:/...``,
    ``models:/m-...``, a local folder) now; fails with one line where it cannot be resolved."""
    from pipeline.score.models import check_model_reference

    text = str(reference)
    local = Path(text).expanduser()
    if local.exists():
        d = folder_digest(local)
        return ResolvedModel(text, str(local), f"folder:{d}", f"{local.name}@{d[:12]}")
    check_model_reference(text)  # an unknown name, alias, version or folder: a one-line ModelError
    if text.startswith("models:/") and not text.startswith("models:/m-"):
        from pipeline.models.mlflow_model import registered_version

        version = registered_version(text)
        if version is None:  # models:/NAME: its newest version
            import mlflow

            name = text.removeprefix("models:/")
            versions = mlflow.MlflowClient().search_model_versions(f"name = '{name}'")
            if not versions:
                raise ModelError(f"model {text} has no registered version in {_store()}: train it first")
            version = max(versions, key=lambda v: int(v.version))
        pinned = f"models:/{version.name}/{version.version}"
        return ResolvedModel(text, pinned, f"{_store()}|{pinned}|run={version.run_id}", pinned)
    if ":/" in text:
        return ResolvedModel(text, text, f"{_store()}|{text}", text)
    raise ModelError(
        f"model not found: {text} is neither a folder nor a model URI (e.g. models:/tone@champion)"
    )


def resolve_encoder(name: str) -> str:
    """What a sentence encoder name stands for: its PyPI packages' versions, a digest of a local
    folder, or a Hub id with its revision in the local Hub cache (a one-line ModelError if none)."""
    from pipeline.models.locate import encoder_packages

    packages = encoder_packages(name)
    if packages:
        return "|".join(f"{k}=={v}" for k, v in library_versions(packages).items())
    local = Path(name).expanduser()
    if local.exists():
        return f"folder:{folder_digest(local)}"
    return f"hub:{name}@{hub_revision(name)}"


def hub_revision(repo_id: str) -> str:
    """The commit of a Hub model in the local Hub cache (a Hub id alone names no fixed weights)."""
    try:
        from huggingface_hub import snapshot_download

        path = snapshot_download(repo_id, local_files_only=True)
    except Exception as exc:
        raise ModelError(
            f"cannot resolve the Hub model {repo_id!r} to a revision ({type(exc).__name__}): download it "
            "into the Hub cache first, or give a local model folder"
        ) from None
    return Path(path).name


# --- stage keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageKey:
    """A stage's key: its parts (JSON-able, logged) and their digest (what caches are keyed by)."""

    stage: str
    parts: dict[str, Any]

    @property
    def digest(self) -> str:
        return config_digest(self.parts)


def environment(stage: str) -> dict[str, Any]:
    """The code, library versions and precision parts of ``stage``'s key."""
    return {"code": code_digest(*STAGE_CODE[stage]), "libraries": library_versions(LIBRARIES[stage]),
            "precision": precision()}


def segment_key(ingest: dict, segment: dict) -> StageKey:
    """Ingest + segment: their config, code, libraries, precision and the topics encoder."""
    parts: dict[str, Any] = {"ingest": ingest, "segment": segment, **environment("segment")}
    if segment.get("method") in ("auto", "topics"):
        parts["encoder"] = resolve_encoder(segment["topics"]["model"])
    return StageKey("segment", parts)


def score_key(role: str, model: ResolvedModel, settings: dict) -> StageKey:
    """Tone or stance scoring: the resolved model, the scoring settings, code, libraries, precision."""
    return StageKey(role, {"model": model.identity, **settings, **environment("score")})


def train_key() -> StageKey:
    """What a trained model depends on besides its config and data: the trainer's code and libraries."""
    return StageKey("train", environment("train"))


def flatten(parts: Any, prefix: str = "") -> dict[str, str]:
    """Dotted keys -> JSON text of each leaf (``tone.libraries.torch`` -> ``"2.13.0"``)."""
    if isinstance(parts, dict):
        out: dict[str, str] = {}
        for key, value in parts.items():
            out |= flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    return {prefix: json.dumps(parts, sort_keys=True, default=str)}


def changed_parts(old: dict | None, new: dict) -> list[str]:
    """The dotted names of the key parts that differ between two sets of stage keys (sorted)."""
    if not old:
        return []
    a, b = flatten(old), flatten(new)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
