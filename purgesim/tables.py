"""Growable columnar tables (event log, case files) with amortised O(1) appends."""

from __future__ import annotations

import numpy as np


def member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_set)`` for a sorted `sorted_set`, without isin's per-call setup
    (it dominated the daily cost of small runs: docs/performance.md)."""
    if sorted_set.size == 0 or np.size(values) == 0:
        return np.zeros(np.shape(values), dtype=bool)
    idx = np.searchsorted(sorted_set, values)
    idx[idx == sorted_set.size] = 0
    return sorted_set[idx] == values


class Table:
    """Columns of fixed dtype that grow by doubling; rows are appended in batches."""

    def __init__(self, dtype: list[tuple[str, str]], capacity: int = 1024) -> None:
        self.dtype = np.dtype(dtype)
        self._data = np.zeros(capacity, dtype=self.dtype)
        self.n = 0

    def append(self, **cols: np.ndarray | int | float) -> None:
        k = -1  # rows: the longest column given as an array; 1 if all are scalars
        for v in cols.values():
            if isinstance(v, np.ndarray):
                if v.ndim:
                    k = max(k, v.shape[0])
            elif isinstance(v, list | tuple):
                k = max(k, len(v))
        k = 1 if k < 0 else k
        if k == 0:
            return
        need = self.n + k
        if need > self._data.shape[0]:
            cap = max(need, 2 * self._data.shape[0])
            new = np.zeros(cap, dtype=self.dtype)
            new[: self.n] = self._data[: self.n]
            self._data = new
        block = self._data[self.n : need]
        for name, v in cols.items():
            block[name] = v
        self.n = need

    @property
    def rows(self) -> np.ndarray:
        return self._data[: self.n]

    def keep(self, mask: np.ndarray) -> None:
        """Drop rows where mask is False (for queues, not for logs)."""
        kept = self._data[: self.n][mask]
        self.n = kept.shape[0]
        self._data[: self.n] = kept

    def __len__(self) -> int:
        return self.n
