"""Curves over iterations in fixed memory: a long run keeps its shape, not its every point."""

from __future__ import annotations

import numpy as np


class BoundedHistory:
    """Rows of float64 columns in a buffer allocated once.

    Rows are taken every `stride` offers; when the buffer is full every other row is dropped and the
    stride doubles, so the kept rows stay evenly spaced over the whole run and memory never grows:
    after 1,000,000 iterations the buffer is the same size as after 10,000.
    """

    def __init__(self, columns: tuple[str, ...], capacity: int = 2048):
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number >= 2")
        self.columns = tuple(columns)
        self._rows = np.zeros((capacity, len(columns)))
        self._n = 0
        self._offered = 0
        self.stride = 1

    def __len__(self) -> int:
        return self._n

    @property
    def nbytes(self) -> int:
        return self._rows.nbytes

    def append(self, values) -> None:
        """Offer one row (a sequence in column order); it is kept if it falls on the current stride."""
        self._offered += 1
        if (self._offered - 1) % self.stride:
            return
        if self._n == len(self._rows):
            half = len(self._rows) // 2
            self._rows[:half] = self._rows[::2]
            self._n = half
            self.stride *= 2
            if (self._offered - 1) % self.stride:
                return
        self._rows[self._n] = values
        self._n += 1

    def rollback(self, iteration: float) -> None:
        """Forget the rows whose first column (the iteration) is past `iteration`."""
        self._n = int(np.searchsorted(self._rows[: self._n, 0], iteration, side="right"))

    def arrays(self) -> dict[str, np.ndarray]:
        """A read-only copy per column."""
        block = self._rows[: self._n].T.copy()
        block.setflags(write=False)
        return dict(zip(self.columns, block, strict=True))
