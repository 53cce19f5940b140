"""Metric records: provenance (git, versions, device, time) and the table of all records.

A record is one flat JSON object per run, its fields named in ``keys.py`` (docs/design.md);
the results table is their concatenation, one row per run, written by :func:`collect`. Records
are committed with the results, so they hold no host name and no absolute path inside this
checkout or the work folder (:func:`portable_path`).
"""
from __future__ import annotations

import json
import math
import os
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from ijae import UserError, work_dir
from ijae.contract import METRICS, atomic_write_text
from ijae.metrics import keys as K

PACKAGES = ("torch", "torchvision", "torch-fidelity", "lpips", "ijae", "numpy")
# record fields that may hold a file path (written through portable_path)
PATH_KEYS = (K.KEY_RUN, "feature_extractor_weights", "lpips_trunk_weights")
WORK_PREFIX = "<work>"   # stands for the work folder (ijae.work_dir) in recorded paths


def portable_path(path: str | Path) -> str:
    """``path`` as a record holds it: relative to the current folder (the checkout, where the
    workflow runs) when inside it, else ``<work>/...`` when inside the work folder; a relative
    path or any other location is kept as given."""
    if not Path(path).is_absolute():
        return str(path)
    path = Path(os.path.abspath(path))
    for base, prefix in ((Path.cwd(), None), (Path(os.path.abspath(work_dir())), WORK_PREFIX)):
        if path == base or base in path.parents:
            relative = path.relative_to(base).as_posix() or "."
            return relative if prefix is None else f"{prefix}/{relative}"
    return str(path)


def git_state(path: str | Path | None = None) -> dict:
    """``git_commit`` (hex, or None without a commit) and ``git_dirty`` of the repo holding ``path``.

    ``path`` defaults to this package's source. Outside a git repository (or without git) both
    are None. In a repository with no commit yet, the commit is None and dirty means "holds any
    file git would track" (staged or untracked but not ignored).
    """
    path = Path(path) if path is not None else Path(__file__).resolve().parents[1]
    try:
        import git

        repo = git.Repo(path, search_parent_directories=True)
    except Exception:  # not a repository, no git executable, GitPython missing
        return {K.KEY_GIT_COMMIT: None, K.KEY_GIT_DIRTY: None}
    try:
        if not repo.head.is_valid():
            dirty = bool(repo.untracked_files) or bool(repo.index.entries)
            return {K.KEY_GIT_COMMIT: None, K.KEY_GIT_DIRTY: dirty}
        return {K.KEY_GIT_COMMIT: repo.head.commit.hexsha,
                K.KEY_GIT_DIRTY: repo.is_dirty(index=True, working_tree=True, untracked_files=True)}
    except Exception:
        return {K.KEY_GIT_COMMIT: None, K.KEY_GIT_DIRTY: None}
    finally:
        repo.close()


def versions() -> dict:
    out = {}
    for name in PACKAGES:
        try:
            out[f"version_{name.replace('-', '_')}"] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[f"version_{name.replace('-', '_')}"] = None
    out["version_python"] = platform.python_version()
    return out


def device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return platform.processor() or platform.machine() or "cpu"


def provenance(device: str) -> dict:
    return {**git_state(), **versions(), K.KEY_DEVICE: device,
            K.KEY_DEVICE_NAME: device_name(device),
            K.KEY_TIMESTAMP: datetime.now(timezone.utc).isoformat(timespec="seconds")}


def write(run: str | Path, record: dict) -> Path:
    path = Path(run) / METRICS
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")
    return path


def read(path: str | Path) -> dict:
    """The record of a run folder or of a metrics.json path."""
    path = Path(path)
    file = path / METRICS if path.is_dir() else path
    if not file.is_file():
        raise UserError(f"{path}: no metrics record (expected a run folder holding {METRICS}, or a "
                        f"{METRICS} file); run `ijae evaluate {path}` first")
    try:
        record = json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{file}: not valid JSON ({error})") from error
    if not isinstance(record, dict) or any(isinstance(v, (dict, list)) for v in record.values()):
        raise UserError(f"{file}: expected one flat JSON object (name -> number/string/null)")
    return record


# what makes two records the same run: a table holding both would count that run twice (a run's
# snapshots at other steps are other records: report/budget.py keeps each step apart)
IDENTITY_KEYS = (K.KEY_DATASET, K.KEY_MODEL, K.KEY_VARIANT, K.KEY_LAMBDA, K.KEY_SEED, K.KEY_PROFILE,
                 K.KEY_TRAIN_STEP)
# a record without these as finite numbers has no row to give Table 1 or a figure
HEADLINE_KEYS = (K.KEY_METRIC_IS_MEAN, K.KEY_METRIC_RECON_MEAN)


def _file(path: str | Path) -> Path:
    path = Path(path)
    return path / METRICS if path.is_dir() else path


def check_scored(path: str | Path, record: dict) -> None:
    """A record a table may stand on: its headline metrics are finite numbers, and no field is
    NaN or infinite. ``null`` means "not computed" (e.g. FID under ``--no-fid``) and is kept;
    a NaN is a broken evaluation (e.g. a model that produced non-finite images)."""
    for key in HEADLINE_KEYS:
        value = record.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{_file(path)}: {key} is {'missing' if key not in record else value!r}"
                            f"; expected a number (score the run again with `ijae evaluate`)")
    bad = [k for k, v in record.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise UserError(f"{_file(path)}: {', '.join(f'{k} = {record[k]}' for k in bad)}: a broken "
                        "evaluation (non-finite score); fix the run and score it again with "
                        "`ijae evaluate`, or leave it out of `ijae collect`")


def check_unique(paths, records) -> None:
    """Two records of one run identity (IDENTITY_KEYS) are refused, naming both files."""
    seen = {}
    for path, record in zip(paths, records):
        identity = tuple(record.get(k) for k in IDENTITY_KEYS)
        if identity in seen:
            named = ", ".join(f"{k}={v}" for k, v in zip(IDENTITY_KEYS, identity))
            raise UserError(f"{_file(seen[identity])} and {_file(path)} are records of the same "
                            f"run ({named}); pass one of them to `ijae collect`")
        seen[identity] = path


def collect(paths, out: str | Path | None = None):
    """Concatenate records into one table (one row per run); written atomically as CSV to ``out``.
    Refused (nothing written): a record that is not scored (check_scored), two of one run."""
    import pandas as pd

    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise UserError("collect: no run folders or metrics.json files given")
    records = [read(p) for p in paths]
    for path, rec in zip(paths, records):
        check_scored(path, rec)
    check_unique(paths, records)
    table = pd.DataFrame.from_records(records)
    lead = [c for c in K.LEAD_KEYS if c in table.columns]
    table = table[lead + [c for c in table.columns if c not in lead]]
    if out is not None:
        atomic_write_text(out, table.to_csv(index=False))
    return table
