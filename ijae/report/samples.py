"""Appendix C: per dataset, a grid with the originals on top and, for every model, a row of its
samples and a row of its reconstructions of those originals, upscaled with nearest-neighbour so
16-px images are readable, the model's name as the row label and, under each image, what the
digits classifier reads in it (the record's ``labels_first_*``: a digit, or a stacked image's
R, G, B digits; the originals' true labels). A stacked-digits image (three digits, one per RGB
channel) is unreadable as a colour blend, so beside each one its R, G and B channels stand top to
bottom in grey, each a third of its height. Reads the runs' samples.npz and reconstructions.npz
(and metrics.json for the labels and the dataset) with numpy only: no torch."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ijae import UserError
from ijae.contract import RECONSTRUCTIONS, SAMPLES, load_reconstructions, load_samples
from ijae.metrics import keys as K
from ijae.report.plotting import pyplot, save
from ijae.report.records import variant_name

MIN_PIXELS = 64   # each image is upscaled by an integer factor to at least this many pixels
GAP = 2           # pixels between images, in the upscaled grid
TEXT = 14         # pixels under each row for the images' labels, when the records have them


def run_record(run: Path) -> dict:
    record = run / "metrics.json"
    return json.loads(record.read_text()) if record.is_file() else {}


def run_label(run: Path) -> str:
    """The method's name from the run's metrics.json (label, and λ for λ-IJAE), else the folder;
    a collapsed run (ijae/metrics/collapse.py) says so."""
    r = run_record(run)
    if not r:
        return run.name
    if r.get("model") == "ijae":
        label = f"{variant_name(r.get('variant'))} (λ = {float(r['lambda']):g})"
    else:
        label = str(r.get("label") or run.name)
    return label + (" ⚠ COLLAPSED" if r.get(K.KEY_COLLAPSED) else "")


def collapse_notes(runs: list[Path]) -> list[str]:
    """'AGE collapsed: <the measures that decided it>' for every collapsed run."""
    return [f"{run_label(run).replace(' ⚠ COLLAPSED', '')} collapsed: "
            f"{run_record(run).get(K.KEY_COLLAPSE_REASON)}."
            for run in runs if run_record(run).get(K.KEY_COLLAPSED)]


def upscale(images: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour: every pixel becomes a factor × factor block."""
    return images.repeat(factor, axis=1).repeat(factor, axis=2)


def image_labels(record: dict, key: str, n: int) -> list[str]:
    """The first ``n`` labels a record holds under ``key`` ([] when it has none)."""
    return str(record.get(key) or "").split()[:n]


def grid_rows(runs: list[Path], n: int) -> list[tuple[str, np.ndarray, list[str]]]:
    """(row label, images [n, H, W, 3], the images' labels) top to bottom: originals, then per run
    samples and reconstructions (a run whose originals differ from the first run's gets its own
    row of them)."""
    rows, top = [], None
    for run in runs:
        for name in (SAMPLES, RECONSTRUCTIONS):
            if not (run / name).is_file():
                raise UserError(f"{run / name} not found: export the run first (`ijae export {run}`)")
        label, record = run_label(run), run_record(run)
        samples = load_samples(run / SAMPLES)[:n]
        originals, recons = (a[:n] for a in load_reconstructions(run / RECONSTRUCTIONS))
        truth = image_labels(record, K.KEY_LABELS_OF_ORIGINALS, n)
        if top is None:
            top = originals
            rows.append(("originals (test split)", originals, truth))
        elif originals.shape != top.shape or not np.array_equal(originals, top):
            rows.append((f"{label}: originals", originals, truth))
        rows += [(f"{label}: samples", samples, image_labels(record, K.KEY_LABELS_OF_SAMPLES, n)),
                 (f"{label}: reconstructions", recons,
                  image_labels(record, K.KEY_LABELS_OF_RECONSTRUCTIONS, n))]
    return rows


def channel_strip(images: np.ndarray) -> np.ndarray:
    """[N, H, W, 3] -> [N, 3 H, W, 3]: each image's R, G, B channels top to bottom, in grey."""
    channels = images.transpose(0, 3, 1, 2)                   # [N, 3, H, W]
    strip = channels.reshape(len(images), -1, images.shape[2])
    return np.repeat(strip[..., None], 3, axis=-1)


def canvas(rows: list[tuple[str, np.ndarray, list[str]]], n: int,
           channels: bool = False) -> tuple[np.ndarray, int, int]:
    """One uint8 image of the rows (white gaps, room for labels), the width of a cell and the
    height of a row. With ``channels``, a cell is the image and, to its right, its R, G, B
    channels in grey, each a third of the image's height."""
    size = max(r.shape[1] for _, r, _ in rows)
    if any(r.shape[1:3] != (size, size) for _, r, _ in rows):
        raise UserError("the runs of one grid have images of different sizes; grid one dataset at a time")
    factor = max(1, math.ceil(MIN_PIXELS / size))
    if channels:
        factor = 3 * math.ceil(factor / 3)        # the channels at a whole third of it
    side = size * factor
    cell = side + (GAP + side // 3 if channels else 0)
    row_height = side + GAP + (TEXT if any(texts for _, _, texts in rows) else 0)
    out = np.full((len(rows) * row_height, n * (cell + GAP), 3), 255, np.uint8)
    for i, (_, images, _) in enumerate(rows):
        strips = upscale(channel_strip(images), factor // 3) if channels else [None] * len(images)
        for j, (image, strip) in enumerate(zip(upscale(images, factor), strips)):
            y, x = i * row_height, j * (cell + GAP)
            out[y:y + side, x:x + side] = image
            if strip is not None:
                out[y:y + side, x + side + GAP:x + cell] = strip
    return out, cell, row_height


def has_channel_digits(runs: list[Path]) -> bool:
    """Whether the runs' records say their images hold one digit per channel."""
    from ijae import datasets   # one digit per channel (a stacked dataset): drawn with its channels

    names = {run_record(run).get(K.KEY_DATASET) for run in runs}
    return any(n in datasets.REGISTRY and datasets.REGISTRY[n].stacked for n in names)


def samples_grid(runs: list[str | Path], out: str | Path, title: str = "", n: int = 10,
                 note: str = "") -> Path:
    """The grid of ``runs`` (one dataset) as PNG and PDF at ``out``; one image pixel is one
    screen pixel at the PNG's resolution."""
    if not runs:
        raise UserError("no run folder given for the samples grid")
    runs = [Path(r) for r in runs]
    rows = grid_rows(runs, n)
    channels = has_channel_digits(runs)
    image, cell, row_height = canvas(rows, n, channels)
    labelled = any(texts for _, _, texts in rows)
    side = row_height - GAP - (TEXT if labelled else 0)      # an image's height
    dpi, label_width = 100, 2.6
    plt = pyplot()
    h, w = image.shape[:2]
    fig = plt.figure(figsize=(w / dpi + label_width, h / dpi + 0.6), dpi=dpi)
    ax = fig.add_axes([label_width / (w / dpi + label_width), 0, w / dpi / (w / dpi + label_width),
                       h / dpi / (h / dpi + 0.6)])
    ax.imshow(image, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([i * row_height + side / 2 for i in range(len(rows))])
    ax.set_yticklabels([label for label, _, _ in rows], fontsize=9)
    for i, (_, _, texts) in enumerate(rows):
        for j, text in enumerate(texts):
            ax.text(j * (cell + GAP) + cell / 2, i * row_height + side + GAP / 2, text,
                    ha="center", va="top", fontsize=7, family="monospace")
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(length=0)
    if title:
        ax.set_title(title, fontsize=10)
    note = " ".join(filter(None, [note, *collapse_notes(runs)]))
    if channels:
        note = " ".join(filter(None, [note, "Right of each image: its R, G, B channels, top to "
                                      "bottom, in grey."]))
    if labelled:
        note = " ".join(filter(None, [note, "Under each image: the digits classifier's label (stacked "
                                      "digits: the R, G, B digits), the originals' true labels."]))
    if note:
        fig.text(0.01, -0.02, note, fontsize=7, ha="left", va="top")
    return save(fig, out, dpi=dpi)
