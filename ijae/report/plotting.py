"""What every figure shares: the matplotlib backend, saving PNG and PDF atomically, labels that
do not collide (adjustText), and a caption printed under the axes."""
from __future__ import annotations

import io
import textwrap
from pathlib import Path

from ijae.contract import atomic_write_bytes


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, out: str | Path, dpi: int = 150) -> Path:
    """``out`` with suffix .png and .pdf; returns the PNG's path. Reproducible: no creation date
    in the PDF, so a redraw of unchanged records leaves the files byte-identical."""
    out = Path(out)
    for suffix, metadata in ((".png", None), (".pdf", {"CreationDate": None})):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=suffix[1:], dpi=dpi, bbox_inches="tight", metadata=metadata)
        atomic_write_bytes(out.with_suffix(suffix), buffer.getvalue())
    pyplot().close(fig)
    return out.with_suffix(".png")


def caption(fig, lines: list[str], width: int = 110) -> None:
    """Text under the plot (saved with bbox_inches="tight", so it is kept whole)."""
    text = "\n".join(textwrap.fill(line, width) for line in lines)
    fig.text(0.01, -0.01, text, ha="left", va="top", fontsize=7.5, wrap=False)


LABEL_STEPS = 500   # adjustText's iterations (its own default is a 1-second time limit)


def spread_labels(ax, texts: list) -> None:
    """Move point labels apart until none overlap (adjustText), with a thin line to the point."""
    ax.margins(x=0.15, y=0.08)  # room inside the axes, so labels at the edge are not cut off
    if len(texts) > 1:
        from adjustText import adjust_text

        # a fixed number of steps: adjustText's default stops after 1 s of wall time, so a
        # redraw on a slower or busier machine placed the labels elsewhere (not byte-identical)
        adjust_text(texts, ax=ax, arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.5},
                    expand=(1.3, 1.5), iter_lim=LABEL_STEPS)
