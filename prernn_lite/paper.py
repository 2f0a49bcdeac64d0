"""The paper's published numbers, read from ``paper_tables.json``.

The book compares its own results with the paper's tables side by side; those
numbers are quotes from the supplementary material, not results of this library,
so they live in one data file (a copy of ``shared/paper/tables.json``) and are read
from here rather than typed into notebooks.

>>> paper_tables()["table1_300vw_test_loss_2_layers"]["similar_hidden_size"]["lstm"]
5761
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["paper_tables", "PAPER_SIMILAR_HIDDEN_SIZE"]


@cache
def _load() -> str:
    return resources.files("prernn_lite").joinpath("paper_tables.json").read_text()


def paper_tables() -> dict[str, Any]:
    """Return the paper's tables (Tables 1-3, recipes) as a fresh nested dict."""
    return json.loads(_load())


#: Table 1's "Similar" column: the traditional hidden sizes the paper matched to PreRNN.
PAPER_SIMILAR_HIDDEN_SIZE: dict[str, int] = dict(
    paper_tables()["table1_300vw_test_loss_2_layers"]["similar_hidden_size"]
)
