"""Load labelled data with `datasets`, map columns and labels, split, and check every split.

Every problem raises :class:`pipeline.errors.DataError` with one line that names the file and the
column, says what was expected and what was found, and how to fix it.

The result is a :class:`Splits`: one pandas frame per split with the columns ``text``, ``label``,
``target`` (None for tone), ``source`` (the source's name) and ``origin`` (the file or Hub name).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.errors import DataError
from pipeline.errors import first_line as _first_line
from pipeline.training.config import Relabel, Source, TrainConfig

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

COLUMNS = ["text", "label", "target", "group", "source", "origin"]
_SUFFIX_FORMATS = {".jsonl": "json", ".json": "json", ".ndjson": "json", ".csv": "csv", ".parquet": "parquet"}


@dataclass
class Splits:
    """The train / dev / test frames of a config, and where each source came from."""

    train: pd.DataFrame
    dev: pd.DataFrame
    test: pd.DataFrame | None = None
    origins: dict[str, str] = field(default_factory=dict)
    """source name -> file path or Hub name."""

    def data_hash(self) -> str:
        """Content hash of the rows (text, label, target, source, split): changes when the data does."""
        import pandas as pd

        digest = hashlib.sha256()
        for name in ("train", "dev", "test"):
            frame = getattr(self, name)
            if frame is None or frame.empty:
                continue
            cols = frame[["text", "label", "target", "source"]].astype(str)
            digest.update(name.encode())
            digest.update(pd.util.hash_pandas_object(cols, index=False).values.tobytes())
        return digest.hexdigest()[:16]


def source_origin(source: Source, root: str | Path) -> str:
    """The file a source reads (resolved against ``root``, itself against the working directory)."""
    if source.hub:
        return source.hub
    path = Path(source.path).expanduser()  # type: ignore[arg-type]
    if not path.is_absolute():
        path = Path(root).expanduser() / path
    return str(path.resolve()) if path.exists() else str(path)


def files_hash(config: TrainConfig) -> str | None:
    """Hash of the bytes of every local file the config reads; None where a source is on the Hub.

    Cheap (no parsing): lets a run recognise an already trained model without loading the data.
    """
    digest = hashlib.sha256()
    file_digests: dict[Path, bytes] = {}  # a file that feeds several sources is read once
    for source in config.data.sources:
        if source.hub:
            return None
        path = Path(source_origin(source, config.data.root))
        if not path.is_file():
            return None
        if path not in file_digests:
            with path.open("rb") as handle:
                file_digests[path] = hashlib.file_digest(handle, "sha256").digest()
        digest.update(str(source.path).encode() + file_digests[path])
        if source.relabel:
            labels_path = Path(source.relabel.path).expanduser()
            if not labels_path.is_file():
                return None
            with labels_path.open("rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()[:16]


def read_table(
    origin: str, fmt: str = "auto", hub_split: str = "train", *, is_hub: bool = False
) -> pd.DataFrame:
    """Read a JSONL/CSV/Parquet file (or a Hub data set) with `datasets` into a pandas frame."""
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    if is_hub:
        try:
            ds = datasets.load_dataset(origin, split=hub_split)
        except Exception as exc:
            raise DataError(
                f"{origin}: cannot load Hub data set split {hub_split!r} ({_first_line(exc)}); "
                "check the name, the network, or download it to a file and give 'path'"
            ) from None
        return ds.to_pandas()
    path = Path(origin)
    if not path.is_file():
        raise DataError(
            f"{origin}: data file not found (expected a JSONL, CSV or Parquet file; check data.root)"
        )
    if fmt == "auto":
        fmt = _SUFFIX_FORMATS.get(path.suffix.lower(), "")
        if not fmt:
            raise DataError(
                f"{origin}: cannot tell the format from the suffix {path.suffix!r} "
                "(expected .jsonl, .json, .csv or .parquet; or set the source's format)"
            )
    if path.stat().st_size == 0:
        raise DataError(f"{origin}: the file is empty (expected labelled rows)")
    try:
        ds = datasets.load_dataset(fmt, data_files=str(path), split="train")
    except Exception as exc:
        raise DataError(f"{origin}: cannot read as {fmt} ({_first_line(exc)})") from None
    return ds.to_pandas()


def load_source(source: Source, root: str | Path, task: str, labels: list[str]) -> pd.DataFrame:
    """One source as a frame with the common columns, its rows filtered and labels mapped and checked."""
    import pandas as pd

    origin = source_origin(source, root)
    raw = read_table(origin, source.format, source.hub_split, is_hub=bool(source.hub))
    cols = source.columns
    scored = source.label_from_score
    wanted = {"text": cols.text, "label": scored.column if scored else cols.label}
    if cols.target:
        wanted["target"] = cols.target
    if cols.group:
        wanted["group"] = cols.group
    for column in source.where:
        wanted[f"where:{column}"] = column
    for role, column in wanted.items():
        if column not in raw.columns:
            role = role.split(":")[0]
            raise DataError(
                f"{origin}: missing column '{column}' (the {role} column; found columns: "
                f"{', '.join(map(str, raw.columns))}); fix the file or set the source's columns.{role}"
            )
    absent = [c for c in (source.relabel.keys if source.relabel else []) if c not in raw.columns]
    if absent:
        raise DataError(
            f"{origin}: missing column(s) {', '.join(map(repr, absent))} named in relabel.keys (found "
            f"columns: {', '.join(map(str, raw.columns))}); the key columns must be in both files"
        )
    for column, value in source.where.items():
        allowed = value if isinstance(value, list) else [value]
        before = raw
        raw = raw[raw[column].isin(allowed)]
        if raw.empty:
            found = ", ".join(map(str, before[column].dropna().unique()[:10]))
            raise DataError(
                f"{origin}: column '{column}' has no rows equal to {value!r} (found values: {found}); "
                "fix the source's 'where'"
            )
    label_values = score_labels(raw, source, origin) if scored else raw[cols.label].to_numpy()
    frame = pd.DataFrame({"text": raw[cols.text].to_numpy(), "label": label_values})
    if frame.empty:
        raise DataError(f"{origin}: column '{cols.text}' has no rows (expected labelled rows)")
    if frame["text"].isna().any() or not all(isinstance(t, str) for t in frame["text"]):
        bad = int((~frame["text"].map(lambda t: isinstance(t, str))).sum())
        raise DataError(f"{origin}: column '{cols.text}' has {bad} rows that are not text (expected strings)")
    if frame["label"].isna().any():
        raise DataError(
            f"{origin}: column '{cols.label}' has {int(frame['label'].isna().sum())} empty labels "
            f"(expected one of: {', '.join(labels)})"
        )
    frame["label"] = frame["label"].map(lambda v: source.label_map.get(_label_str(v), _label_str(v)))
    unknown = sorted(set(frame["label"]) - set(labels))
    if unknown:
        raise DataError(
            f"{origin}: column '{cols.label}' has unknown label(s) {', '.join(map(repr, unknown[:5]))} "
            f"(expected one of: {', '.join(labels)}); "
            "fix the data, the config's labels, or the source's label_map"
        )
    if task == "stance":
        if cols.target:
            targets = raw[cols.target].to_numpy()
            frame["target"] = targets
            empty = frame["target"].map(lambda t: not (isinstance(t, str) and t.strip())).sum()
            if empty:
                raise DataError(
                    f"{origin}: column '{cols.target}' has {int(empty)} rows without a target "
                    "(expected a non-empty stance target on every row)"
                )
        elif source.target_value:
            frame["target"] = source.target_value
        else:
            raise DataError(
                f"{origin}: no target column for a stance task (expected the source's columns.target, "
                "e.g. 'target', or a fixed target_value)"
            )
    else:
        frame["target"] = None
    frame["group"] = group_values(raw[cols.group], source.group_pattern) if cols.group else None
    frame["source"] = source.display_name
    frame["origin"] = origin
    if source.relabel:
        frame["relabel_key"] = key_strings(raw, source.relabel.keys)
    return frame.reset_index(drop=True)


def key_strings(table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One string per row joining the key columns (integral floats written as integers)."""
    def text(value: object) -> str:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    parts = [table[c].map(text).to_numpy(dtype=object) for c in columns]
    return np.array(["\x1f".join(row) for row in zip(*parts, strict=True)], dtype=object)


def relabel_table(spec: Relabel, source_name: str, labels: list[str]) -> dict[str, str]:
    """key -> label from a source's ``relabel`` file, checked (empty labels are left out)."""
    origin = str(Path(spec.path).expanduser())
    table = read_table(origin)
    missing = [c for c in [*spec.keys, spec.label] if c not in table.columns]
    if missing:
        raise DataError(
            f"{origin}: missing column(s) {', '.join(map(repr, missing))} (the relabel file of source "
            f"'{source_name}' needs the key columns {spec.keys} and the label column '{spec.label}'; "
            f"found columns: {', '.join(map(str, table.columns))})"
        )
    column = table[spec.label]
    table = table[column.notna() & column.astype(str).str.strip().ne("")]
    keys = key_strings(table, spec.keys)
    values = [_label_str(v) for v in table[spec.label]]
    unknown = sorted(set(values) - set(labels))
    if unknown:
        raise DataError(
            f"{origin}: column '{spec.label}' has unknown label(s) {', '.join(map(repr, unknown[:5]))} "
            f"(expected one of: {', '.join(labels)})"
        )
    found: dict[str, str] = {}
    for key, value in zip(keys, values, strict=True):
        if found.setdefault(key, value) != value:
            shown = ", ".join(key.split("\x1f"))
            raise DataError(f"{origin}: the key ({shown}) has two labels, {found[key]!r} and {value!r} "
                            f"(expected one label per {', '.join(spec.keys)})")
    return found


def relabeller(source: Source, labels: list[str]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """What gives a part of ``source`` its ``relabel`` file's labels; unchanged without one."""
    if source.relabel is None:
        return lambda part: part
    table = relabel_table(source.relabel, source.display_name, labels)
    return partial(apply_relabel, table=table, spec=source.relabel, source_name=source.display_name)


def apply_relabel(part: pd.DataFrame, table: dict[str, str], spec: Relabel, source_name: str) -> pd.DataFrame:
    """The rows of ``part`` with the labels of ``table``; rows it lacks are left out, and counted."""
    labels = part["relabel_key"].map(table)
    kept = part[labels.notna()].assign(label=labels[labels.notna()]).drop(columns="relabel_key")
    if len(kept) < len(part):
        print(f"{source_name}: {len(part) - len(kept)} of {len(part)} rows have no label in {spec.path} "
              "and are left out")
    return kept.reset_index(drop=True)


def score_labels(raw: pd.DataFrame, source: Source, origin: str) -> np.ndarray:
    """Tone labels from a numeric rating column by the source's cut-offs (``label_from_score``)."""
    import pandas as pd

    rule = source.label_from_score
    assert rule is not None
    values = pd.to_numeric(raw[rule.column], errors="coerce")
    if values.isna().any():
        raise DataError(
            f"{origin}: column '{rule.column}' has {int(values.isna().sum())} rows that are not numbers "
            "(expected a numeric rating on every row for label_from_score); fix the data or the column"
        )
    out = np.full(len(values), "neutral", dtype=object)
    out[(values < rule.negative_below).to_numpy()] = "negative"
    out[(values > rule.positive_above).to_numpy()] = "positive"
    return out


def group_values(column: pd.Series, pattern: str | None) -> np.ndarray:
    """The group of each row: the column as text, or the first capture group of ``pattern`` in it."""
    values = column.astype(str)
    if pattern is None:
        return values.to_numpy()
    extracted = values.str.extract(pattern, expand=False)
    if extracted.ndim > 1:  # several capture groups: the first one
        extracted = extracted.iloc[:, 0]
    return extracted.fillna(values).to_numpy()


def load_splits(config: TrainConfig) -> Splits:
    """Load every source of the config and assemble train / dev (/ test) splits, checked."""
    import pandas as pd

    labels = config.label_list
    parts: dict[str, list[pd.DataFrame]] = {"train": [], "dev": [], "test": []}
    origins: dict[str, str] = {}
    if not config.data.sources:
        raise DataError("data.sources is empty: expected at least one labelled file feeding train and dev")
    seed = config.seed if config.data.split_seed is None else config.data.split_seed
    for source in config.data.sources:
        frame = load_source(source, config.data.root, config.task, labels)
        origins.setdefault(source.display_name, frame["origin"].iat[0])
        relabel = relabeller(source, labels)
        if source.holdout is not None:
            train_part, dev_part = holdout_split(frame, source.holdout, seed, source)
            dev_part = relabel(dev_part)  # after the split, made on the source's own labels: the same split
            _check_split(dev_part, "dev", source, labels)
            if not source.dev_only:
                parts["train"].append(_oversample(_subsample(relabel(train_part), source.max_rows, seed),
                                                  source.oversample, seed))
            parts["dev"].append(dev_part)
        else:
            frame = relabel(frame)
            if source.split == "train":
                frame = _oversample(_subsample(frame, source.max_rows, seed), source.oversample, seed)
            else:
                _check_split(frame, str(source.split), source, labels)
            parts[str(source.split)].append(frame)
    frames = {
        k: pd.concat(v, ignore_index=True) if v else pd.DataFrame(columns=COLUMNS) for k, v in parts.items()
    }
    where = ", ".join(sorted({str(f["origin"].iat[0]) for f in parts["train"]})) or "data.sources"
    for name in ("train", "dev"):
        if frames[name].empty:
            raise DataError(
                f"{where}: the {name} split is empty (expected at least one source with split: {name} "
                "or a holdout fraction)"
            )
    train_classes = set(frames["train"]["label"])
    if len(train_classes) < 2:
        raise DataError(
            f"{where}: column 'label' of the train split has one class only ({', '.join(train_classes)}); "
            f"expected at least two of: {', '.join(labels)}"
        )
    return Splits(
        train=frames["train"],
        dev=frames["dev"],
        test=frames["test"] if not frames["test"].empty else None,
        origins=origins,
    )


def holdout_split(
    frame: pd.DataFrame, fraction: float, seed: int, source: Source
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded, label-stratified split; rows of one group (e.g. one document) stay on one side."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    n_splits = max(2, round(1 / fraction))
    y = frame["label"].to_numpy()
    counts = frame["label"].value_counts()
    if counts.min() < 2 and len(counts) > 1:
        stratify_y = np.where(frame["label"].isin(counts[counts >= 2].index), y, "_rare")
    else:
        stratify_y = y
    if frame["group"].notna().all() and source.columns.group:
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        train_idx, dev_idx = next(splitter.split(frame, stratify_y, groups=frame["group"].to_numpy()))
    else:
        if len(frame) < n_splits:
            raise DataError(
                f"{frame['origin'].iat[0]}: column '{source.columns.label}' has {len(frame)} rows, too few "
                f"for a holdout of {fraction} (expected at least {n_splits})"
            )
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        train_idx, dev_idx = next(splitter.split(frame, stratify_y))
    return frame.iloc[train_idx].reset_index(drop=True), frame.iloc[dev_idx].reset_index(drop=True)


def _subsample(frame: pd.DataFrame, max_rows: int | None, seed: int) -> pd.DataFrame:
    if max_rows is None or len(frame) <= max_rows:
        return frame
    from sklearn.model_selection import train_test_split

    counts = frame["label"].value_counts()
    stratify = frame["label"] if counts.min() >= 2 else None
    kept, _ = train_test_split(frame, train_size=max_rows, random_state=seed, stratify=stratify)
    return kept.sort_index().reset_index(drop=True)


def _oversample(frame: pd.DataFrame, factor: float, seed: int) -> pd.DataFrame:
    """Each row ``int(factor)`` times, plus a seeded sample of the fraction left."""
    if factor == 1.0:
        return frame
    import pandas as pd

    whole, extra = int(factor), factor - int(factor)
    parts = [frame] * whole
    if extra > 0:
        parts.append(frame.sample(frac=extra, random_state=seed))
    return pd.concat(parts, ignore_index=True)


def _check_split(frame: pd.DataFrame, split: str, source: Source, labels: list[str]) -> None:
    origin = frame["origin"].iat[0] if not frame.empty else source.path or source.hub
    if frame.empty:
        raise DataError(
            f"{origin}: the {split} split of column '{source.columns.label}' is empty (expected rows)"
        )
    classes = sorted(set(frame["label"]))
    if len(classes) < 2:
        raise DataError(
            f"{origin}: column '{source.columns.label}' has one class only in the {split} split "
            f"({classes[0]}); expected at least two of: {', '.join(labels)}"
        )


def read_labelled_file(path: str, labels: list[str], task: str) -> pd.DataFrame:
    """A labelled evaluation file with columns text, label and (stance) target."""
    from pipeline.config import validate

    source = validate(
        {"path": str(path), "split": "test", "columns": {"target": "target" if task == "stance" else None}},
        Source,
        str(path),
    )
    frame = load_source(source, ".", task, labels)  # type: ignore[arg-type]
    return frame


def _label_str(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)
