"""Does document context carry PerSenT's paragraph tone? A screen with frozen sentence embeddings.

Fine-tuning a transformer per variant costs an hour of 2-core CPU (MiniLM) or three (mpnet); this screen
answers the cheaper question first: with a frozen encoder's embeddings and a logistic-regression head
trained on the same train rows as ``configs/train/tone.yaml`` (all six sources), does adding the
article's context to each paragraph's features lift the PerSenT dev fifth (its macro-F1 and negative
F1), and what does it do to the other sources? Context variants (a source without articles gives each
row itself as its article):

- ``paragraph``: the paragraph's embedding alone (today's input);
- ``+article``: concatenated with the mean embedding of its article's paragraphs;
- ``+lead``: concatenated with the embedding of the article's first paragraph;
- ``+neighbours``: concatenated with the mean of the previous and next paragraphs;
- ``+article+neighbours``: both.

Also the oracle: the gold article label broadcast to its paragraphs (how far the article's tone alone
could carry the paragraph labels).

Run: python experiments/tone-context/frozen_screen.py [--encoder all-MiniLM-L6-v2] [--cache DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from pipeline.config import load_config
from pipeline.training.config import TrainConfig
from pipeline.training.data import load_splits

ROOT = Path(__file__).resolve().parents[2]
PERSENT = "tone/persent-dev-paragraphs.jsonl"
LABELS = ["negative", "neutral", "positive"]


def embed(texts: list[str], encoder: str, cache: Path) -> np.ndarray:
    """Embeddings of ``texts``, cached on disk by encoder and text list."""
    key = hashlib.sha256((encoder + "\x00" + "\x00".join(texts)).encode()).hexdigest()[:16]
    path = cache / f"{Path(encoder).name}-{key}.npy"
    if path.exists():
        return np.load(path)
    from pipeline.models.embedder import SentenceEncoder

    vectors = SentenceEncoder(encoder, max_length=128).encode(texts, batch_size=64)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def article_rows(data_root: Path) -> pd.DataFrame:
    """PerSenT's paragraphs with their article id and position, for the context lookups."""
    rows = [json.loads(line) for line in (data_root / PERSENT).open()]
    return pd.DataFrame(rows)[["text", "doc_id", "paragraph_index", "doc_label"]]


def context_features(frame: pd.DataFrame, own: np.ndarray, persent: pd.DataFrame,
                     persent_vectors: np.ndarray) -> dict[str, np.ndarray]:
    """The context vectors of each row of ``frame`` (own vector where a row has no article)."""
    index = {(t, d): i for i, (t, d) in enumerate(zip(persent["text"], persent["doc_id"], strict=True))}
    by_doc: dict[int, list[int]] = {}
    for i, (doc, pos) in enumerate(zip(persent["doc_id"], persent["paragraph_index"], strict=True)):
        by_doc.setdefault(int(doc), []).append((int(pos), i))
    article, lead, neighbours = own.copy(), own.copy(), own.copy()
    for row, (text, source, group) in enumerate(zip(frame["text"], frame["source"], frame["group"],
                                                    strict=True)):
        if source != "persent":
            continue
        i = index[(text, int(group))]
        ordered = [j for _, j in sorted(by_doc[int(group)])]
        article[row] = persent_vectors[ordered].mean(axis=0)
        lead[row] = persent_vectors[ordered[0]]
        at = ordered.index(i)
        near = [ordered[k] for k in (at - 1, at + 1) if 0 <= k < len(ordered)]
        neighbours[row] = persent_vectors[near].mean(axis=0) if near else own[row]
    return {"article": article, "lead": lead, "neighbours": neighbours, "article_delta": article - own}


def per_source(frame: pd.DataFrame, predicted: np.ndarray) -> dict[str, tuple[float, float]]:
    """Macro-F1 and negative F1 per source."""
    out = {}
    for source, part in frame.groupby("source", sort=False):
        y, p = part["label"].to_numpy(), predicted[part.index.to_numpy()]
        macro = f1_score(y, p, labels=LABELS, average="macro", zero_division=0)
        negative = f1_score(y, p, labels=["negative"], average="macro", zero_division=0)
        out[str(source)] = (float(macro), float(negative))
    return out


def mixing_table(train: pd.DataFrame, dev: pd.DataFrame, vectors: dict[str, np.ndarray]) -> None:
    """The paragraph head's probabilities mixed with its article's mean: PerSenT dev per weight."""
    head = LogisticRegression(C=1.0, max_iter=2000).fit(vectors["train"], train["label"])
    probs = head.predict_proba(vectors["dev"])
    persent = dev.index[dev["source"] == "persent"].to_numpy()
    groups = dev.loc[persent, "group"].astype(int).to_numpy()
    means = pd.DataFrame(probs[persent]).groupby(groups).transform("mean").to_numpy()
    y = dev.loc[persent, "label"].to_numpy()
    classes = list(head.classes_)
    for weight in (0.0, 0.25, 0.5, 0.75, 1.0):
        mixed = (1 - weight) * probs[persent] + weight * means
        predicted = np.array(classes)[mixed.argmax(axis=1)]
        print(f"probabilities mixed with the article mean, weight {weight:.2f}: persent "
              f"{f1_score(y, predicted, labels=LABELS, average='macro'):.3f} / "
              f"{f1_score(y, predicted, labels=['negative'], average='macro'):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs/train/tone.yaml"))
    parser.add_argument("--data-root", default=str(ROOT.parent / "shared/datasets"))
    parser.add_argument("--encoder", default="all-MiniLM-L6-v2")
    parser.add_argument("--cache", default=str(Path.home() / ".cache/pipeline/frozen-screen"))
    parser.add_argument("--C", type=float, default=1.0)
    args = parser.parse_args()

    config: TrainConfig = load_config(args.config, [f"data.root={args.data_root}"], model=TrainConfig)
    splits = load_splits(config)
    train, dev = splits.train.reset_index(drop=True), splits.dev.reset_index(drop=True)
    persent = article_rows(Path(args.data_root))
    cache = Path(args.cache)
    persent_vectors = embed(persent["text"].tolist(), args.encoder, cache)
    vectors = {name: embed(part["text"].tolist(), args.encoder, cache)
               for name, part in (("train", train), ("dev", dev))}
    contexts = {name: context_features(part, vectors[name], persent, persent_vectors)
                for name, part in (("train", train), ("dev", dev))}
    variants = {
        "paragraph": [],
        "+article": ["article"],
        "+lead": ["lead"],
        "+neighbours": ["neighbours"],
        "+article+neighbours": ["article", "neighbours"],
        "+(article - paragraph)": ["article_delta"],
    }
    sources = list(dict.fromkeys(dev["source"]))
    print(f"encoder {args.encoder}; train {len(train)} rows, dev {len(dev)} rows; C {args.C}")
    header = "| features | " + " | ".join(sources) + " | mean F1 | mean neg |"
    print(header + "\n|" + "---|" * (header.count("|") - 1))
    for name, extra in variants.items():
        def features(part: str, extra: list[str] = extra) -> np.ndarray:
            return np.hstack([vectors[part]] + [contexts[part][e] for e in extra])

        head = LogisticRegression(C=args.C, max_iter=2000)
        head.fit(features("train"), train["label"])
        figures = per_source(dev, head.predict(features("dev")))
        cells = [f"{m:.3f} / {n:.2f}" for m, n in (figures[s] for s in sources)]
        mean_f1 = np.mean([m for m, _ in figures.values()])
        mean_neg = np.mean([n for _, n in figures.values()])
        print(f"| {name} | " + " | ".join(cells) + f" | {mean_f1:.3f} | {mean_neg:.3f} |", flush=True)
    mixing_table(train, dev, vectors)
    dev_persent = dev[dev["source"] == "persent"]
    gold = dict(zip(zip(persent["text"], persent["doc_id"], strict=True), persent["doc_label"], strict=True))
    oracle = [gold[(t, int(g))] for t, g in zip(dev_persent["text"], dev_persent["group"], strict=True)]
    y = dev_persent["label"].to_numpy()
    print(f"oracle (gold article label for each paragraph), persent dev: macro-F1 "
          f"{f1_score(y, oracle, labels=LABELS, average='macro'):.3f}, negative F1 "
          f"{f1_score(y, oracle, labels=['negative'], average='macro'):.3f}")


if __name__ == "__main__":
    main()
