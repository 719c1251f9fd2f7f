"""What a line says, for the learned line model: a sentence embedding of every line, reduced.

Shape features tell a short line from prose; what tells a sub-heading ("How the vote went") from a menu
item, a label or a line of dialogue is mostly its wording, which a sentence encoder reads the same way on
every site. Each line is embedded with all-MiniLM-L6-v2 (its first `max_tokens` tokens, 64 for v3; fp32 on
the CPU, so a line gets the same features on every machine); the features are its cosine to the lines
before and after and to the page's mean, and its coordinates on the principal components fitted on the
training lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

ENCODER = "all-MiniLM-L6-v2"
#: Tokens of a line that are read (v3's): headings are short, and a long line is plainly prose by its
#: shape. 32 reads a page in 0.38 s instead of 0.62 with the same CV figures, but lost the sub-headings
#: of the Arabic and Japanese test pages: not shipped (experiments/article-structure/NOTES.md).
MAX_TOKENS = 64


@cache
def _encoder(name: str, max_tokens: int):
    from pipeline.models.embedder import SentenceEncoder

    return SentenceEncoder(name, precision="fp32", max_length=max_tokens, device="cpu")


def embed_lines(texts: Sequence[str], encoder: str = ENCODER, max_tokens: int = MAX_TOKENS) -> np.ndarray:
    """Unit-length embeddings of `texts` (n x dim, float32) from their first `max_tokens` tokens; a text
    repeated on the page is embedded once."""
    unique = list(dict.fromkeys(texts))
    vectors = _encoder(encoder, max_tokens).encode(unique, batch_size=128)  # (0, dim) for no text
    row = {text: i for i, text in enumerate(unique)}
    return vectors[[row[text] for text in texts]]


@dataclass
class LineEmbedder:
    """The reduction of line embeddings to features: fitted principal components and their mean."""

    encoder: str
    components: np.ndarray
    """dims x dim, float32."""
    mean: np.ndarray
    max_tokens: int = MAX_TOKENS
    """Tokens of a line the encoder reads."""

    @classmethod
    def fit(cls, embeddings: np.ndarray, dims: int, encoder: str = ENCODER, seed: int = 0,
            max_tokens: int = MAX_TOKENS) -> LineEmbedder:
        """Principal components of the training lines' embeddings (no labels are used), which were
        made from their first `max_tokens` tokens."""
        from sklearn.decomposition import PCA

        pca = PCA(dims, random_state=seed).fit(embeddings)
        return cls(encoder, pca.components_.astype(np.float32), pca.mean_.astype(np.float32), max_tokens)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The lines' embeddings as this reduction expects them (`embed_lines`)."""
        return embed_lines(texts, self.encoder, self.max_tokens)

    @property
    def dims(self) -> int:
        return int(self.components.shape[0])

    def names(self) -> list[str]:
        return ["emb_sim_prev", "emb_sim_next", "emb_sim_page"] + [f"emb_pc{k}" for k in range(self.dims)]

    def features(self, embeddings: np.ndarray) -> np.ndarray:
        """One row a line: similarity to its neighbours and the page, then its principal coordinates."""
        n = len(embeddings)
        if n == 0:
            return np.zeros((0, 3 + self.dims), dtype=np.float32)
        zero = np.zeros((1, embeddings.shape[1]), dtype=embeddings.dtype)
        before = np.vstack([zero, embeddings[:-1]])
        after = np.vstack([embeddings[1:], zero])
        centre = embeddings.mean(axis=0)
        centre = centre / (np.linalg.norm(centre) + 1e-9)
        similarity = np.column_stack([(embeddings * before).sum(1), (embeddings * after).sum(1),
                                      embeddings @ centre])
        coordinates = (embeddings - self.mean) @ self.components.T
        return np.hstack([similarity, coordinates]).astype(np.float32)
