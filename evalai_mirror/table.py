"""A tiny plain-text table renderer, and value summaries that fit in a cell.

Columns are as wide as their widest cell, up to a per-column cap; longer cells are cut with
``…``.  Colour is applied after the padding, so escape codes never upset the alignment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from evalai_mirror.records import record

ELLIPSIS = "…"


@record(frozen=True)
class Column:
    title: str
    max_width: int = 40


def clip(text: str, width: int) -> str:
    """``text`` on one line (its indentation kept), at most ``width`` characters (cut with
    an ellipsis)."""
    indent = text[: len(text) - len(text.lstrip(" "))]
    text = indent + " ".join(text.split())
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + ELLIPSIS


def render(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    paint: Callable[[int, int, str], str] | None = None,
    gap: str = "  ",
) -> list[str]:
    """The header and one line per row.  ``paint(row, column, padded_text)`` may colour a
    cell (row -1 is the header); it receives the padded text and must not change its width."""
    cells = [[clip(str(c), col.max_width) for c, col in zip(row, columns, strict=True)] for row in rows]
    widths = [len(col.title) for col in columns]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(index: int, values: Sequence[str]) -> str:
        parts = []
        last = len(values) - 1
        for i, value in enumerate(values):
            padded = value if i == last else value.ljust(widths[i])
            parts.append(paint(index, i, padded) if paint else padded)
        return gap.join(parts).rstrip()

    out = [line(-1, [col.title for col in columns])]
    out.extend(line(r, row) for r, row in enumerate(cells))
    return out
