"""Where a table's row comes from: ``fresh`` (the run's metrics.json is in this work folder and
is the very record shown) or ``cached`` (the committed records: the run is not in this work
folder, or its metrics.json there has been re-scored since the records were collected).

A table made on a fresh clone redraws the committed records; its rows say so, and the notes
under it speak of those rows (issue 11.14), never of models "not run" beside their own rows.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ijae.contract import METRICS
from ijae.metrics.keys import KEY_RUN, KEY_TIMESTAMP
from ijae.metrics.record import WORK_PREFIX  # how portable_path writes the work folder

PROVENANCE = "provenance"
FRESH, CACHED = "fresh", "cached"
# the markdown's column is "source": "provenance" holds the letters of NaN, which tests check no table prints
LEGEND = ("Source: fresh = the run's metrics.json is in this work folder and is the record "
          "shown; cached = the row comes from the committed records (the run is not in this "
          "work folder).")


def run_folder(recorded, work: Path) -> Path | None:
    """The folder a record's ``run`` names, on this machine (``<work>/...``: in ``work``;
    relative: from the current folder, the checkout the workflow runs in)."""
    if recorded is None or pd.isna(recorded) or not str(recorded):
        return None
    text = str(recorded)
    if text == WORK_PREFIX or text.startswith(WORK_PREFIX + "/"):
        return work / text[len(WORK_PREFIX) + 1:]
    return Path(text)


def _inside(path: Path, folder: Path) -> bool:
    path, folder = Path(os.path.abspath(path)), Path(os.path.abspath(folder))
    return path == folder or folder in path.parents


def record_provenance(record, work: str | Path) -> str:
    """FRESH when the record's run folder lies in ``work``, holds metrics.json, and that file
    is this record (same evaluation time, when the record has one); else CACHED."""
    work = Path(work)
    folder = run_folder(record.get(KEY_RUN), work)
    if folder is None or not _inside(folder, work) or not (folder / METRICS).is_file():
        return CACHED
    stamp = record.get(KEY_TIMESTAMP)
    if stamp is None or pd.isna(stamp):
        return FRESH
    try:
        here = json.loads((folder / METRICS).read_text()).get(KEY_TIMESTAMP)
    except (OSError, ValueError, AttributeError):
        return CACHED      # an unreadable record there is not the one shown
    return FRESH if str(here) == str(stamp) else CACHED


def with_provenance(metrics: pd.DataFrame, work: str | Path) -> pd.DataFrame:
    """``metrics`` with a PROVENANCE column, one value per record."""
    values = [record_provenance(r, work) for r in metrics.to_dict("records")]
    return metrics.assign(**{PROVENANCE: values})


def over_seeds(part: pd.DataFrame, seed_key: str) -> str:
    """One row's provenance from its seeds' records: one word when they agree, else which
    seeds are which ("fresh: seeds 0; cached: seeds 1, 2")."""
    kinds = sorted(set(part[PROVENANCE]))
    if len(kinds) == 1:
        return kinds[0]
    return "; ".join(f"{kind}: seeds " + ", ".join(
        str(int(s)) for s in sorted(part.loc[part[PROVENANCE] == kind, seed_key])) for kind in kinds)
