"""A bidirectional GRU over a page's lines (learned.v5): each line's class probabilities read from the
whole page in order, so that a line is judged beside the lines around it and far from it.

The tree models of `line_model.py` see a line's own features and a few neighbours' (`line_features`);
the tagger reads the same feature rows as one sequence per page. Its weights are kept as plain numpy
arrays (pickled inside the line model), and the torch module is rebuilt from them on first use. With
`seeds` above 1 it is several such networks, trained alike from different seeds, and their
probabilities are averaged (steadier than one network's). With `attention_heads` above 0 each line
also attends to the page's other lines by their shape (queries and keys from the lines' own hidden
vectors, values from the GRU's states): a line can read how the lines shaped like it sit on the page
(sub-headings of one page share a style), however far apart they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: Training settings of the shipped tagger (v5): those of the first scratch runs, not searched
#: (experiments/article-structure/NOTES.md, session 2026-11-30 (4)).
DEFAULTS = {"hidden": 64, "epochs": 40, "batch": 8, "learning_rate": 3e-3, "dropout": 0.3,
            "weight_decay": 1e-3, "seeds": 1, "attention_heads": 0}


def squash(rows: np.ndarray) -> np.ndarray:
    """Signed log scaling: counts and lengths in the hundreds sit beside 0/1 flags."""
    return np.sign(rows) * np.log1p(np.abs(rows))


def _module(inputs: int, hidden: int, dropout: float, attention_heads: int = 0):
    """The network: a linear layer, a one-layer BiGRU, and a linear read-out of the GRU's states
    beside the line's own hidden vector (and, with `attention_heads`, what the line reads from the
    lines shaped like it)."""
    import torch

    class Tagger(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.drop = torch.nn.Dropout(dropout)
            self.inp = torch.nn.Linear(inputs, hidden)
            self.gru = torch.nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
            if attention_heads:
                self.attention = torch.nn.MultiheadAttention(hidden, attention_heads, batch_first=True,
                                                             vdim=2 * hidden)
            self.out = torch.nn.Linear((4 if attention_heads else 3) * hidden, 3)

        def forward(self, x, lengths=None):
            h = torch.relu(self.inp(self.drop(x)))
            if lengths is None:
                states, _ = self.gru(h)
            else:
                packed = torch.nn.utils.rnn.pack_padded_sequence(h, lengths, batch_first=True,
                                                                 enforce_sorted=False)
                states, _ = self.gru(packed)
                states, _ = torch.nn.utils.rnn.pad_packed_sequence(states, batch_first=True,
                                                                   total_length=h.shape[1])
            parts = [states, h]
            if attention_heads:
                padding = None if lengths is None else (
                    torch.arange(h.shape[1])[None, :] >= torch.as_tensor(lengths)[:, None])
                read, _ = self.attention(h, h, states, key_padding_mask=padding, need_weights=False)
                parts.append(read)
            return self.out(self.drop(torch.cat(parts, -1)))

    return Tagger()


@dataclass
class LineTagger:
    """A fitted BiGRU line tagger: input scaling and the weights of one network a seed, as numpy arrays."""

    mean: np.ndarray
    scale: np.ndarray
    weights: list[dict[str, np.ndarray]]
    settings: dict = field(default_factory=dict)
    _networks: list | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_networks": None}  # the torch modules are rebuilt, never pickled

    def __setstate__(self, state: dict) -> None:
        state = {k: v for k, v in state.items() if k != "_network"}  # v5 as shipped: one network
        if isinstance(state["weights"], dict):
            state["weights"] = [state["weights"]]
        self.__dict__.update({**state, "_networks": None})

    def _inputs(self, rows: np.ndarray):
        import torch

        return torch.from_numpy(((squash(rows) - self.mean) / self.scale).astype(np.float32))

    def networks(self) -> list:
        """The torch modules, built from `weights` once."""
        if self._networks is None:
            import torch

            self._networks = []
            for weights in self.weights:
                network = _module(len(self.mean), self.settings["hidden"], self.settings["dropout"],
                                  self.settings.get("attention_heads", 0))
                network.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
                self._networks.append(network.eval())
        return self._networks

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        """Class probabilities of every line of one page (`rows` in page order), averaged over the
        networks."""
        if len(rows) == 0:
            return np.zeros((0, 3))
        import torch

        inputs = self._inputs(rows)[None]
        with torch.inference_mode():
            return np.mean([torch.softmax(network(inputs)[0].double(), -1).numpy()
                            for network in self.networks()], axis=0)

    @classmethod
    def fit(cls, pages: Sequence[np.ndarray], labels: Sequence[np.ndarray], page_weights: Sequence[float],
            heading_weight: float = 5.0, seed: int = 0, **settings) -> LineTagger:
        """Train on whole pages (`pages`: one feature matrix a page, in line order), cross-entropy
        with headings weighted `heading_weight` and each page's lines weighted by `page_weights`;
        `settings["seeds"]` networks from seeds `seed`, `seed + 1`, ... Deterministic for a seed: one
        thread, shuffled batches from numpy's generator."""
        import torch

        settings = {**DEFAULTS, **settings}
        squashed = np.concatenate([squash(rows) for rows in pages])
        mean, scale = squashed.mean(0), squashed.std(0) + 1e-6
        tagger = cls(mean.astype(np.float32), scale.astype(np.float32), [], settings)
        inputs = [tagger._inputs(rows) for rows in pages]
        targets = [torch.as_tensor(y, dtype=torch.long) for y in labels]
        weights = torch.tensor([float(w) for w in page_weights])
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for member in range(settings["seeds"]):
                network = _train_network(inputs, targets, weights, heading_weight, seed + member, settings)
                tagger.weights.append({k: v.detach().numpy().copy() for k, v in network.state_dict().items()})
        finally:
            torch.set_num_threads(threads)
        return tagger


def _train_network(inputs: list, targets: list, page_weights, heading_weight: float, seed: int,
                   settings: dict):
    """One network trained from `seed`: AdamW over shuffled batches of whole pages."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    network = _module(inputs[0].shape[1], settings["hidden"], settings["dropout"],
                      settings["attention_heads"])
    optimiser = torch.optim.AdamW(network.parameters(), lr=settings["learning_rate"],
                                  weight_decay=settings["weight_decay"])
    class_weights = torch.tensor([1.0, 1.0, heading_weight])
    network.train()
    for _ in range(settings["epochs"]):
        order = rng.permutation(len(inputs))
        for start in range(0, len(order), settings["batch"]):
            batch = order[start:start + settings["batch"]]
            loss = _batch_loss(network, [inputs[i] for i in batch], [targets[i] for i in batch],
                               page_weights[batch], class_weights)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return network


def _batch_loss(network, inputs: list, targets: list, page_weights, class_weights):
    """Weighted mean cross-entropy over the lines of a padded batch of pages."""
    import torch

    x = torch.nn.utils.rnn.pad_sequence(inputs, batch_first=True)
    y = torch.nn.utils.rnn.pad_sequence(targets, batch_first=True, padding_value=-100)
    logits = network(x, torch.tensor([len(t) for t in targets]))
    per_line = torch.nn.functional.cross_entropy(logits.transpose(1, 2), y, weight=class_weights,
                                                 reduction="none", ignore_index=-100)
    line_weights = class_weights[y.clamp(min=0)] * (y != -100) * page_weights[:, None]
    return (per_line * page_weights[:, None]).sum() / line_weights.sum()
