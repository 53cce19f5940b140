"""One tuning trial, through the artifact contract like every run: its config (the profile's
file, the model's hand-sized preset, the trial's values, the tuning protocol), then train,
export and evaluate into its run folder, then its record (RUN/metrics.json): what the study
reads, and nothing else.

Every trial is held out on the validation split and scored against it (PROTOCOL, applied last so
no setting can undo it); KID and precision / recall are skipped (the criterion needs neither).
A trial folder resumes: train continues from its checkpoint, so a trial retried after its
worker died loses nothing (ijae/tune/study.py).
"""
from __future__ import annotations

import json
from pathlib import Path

from ijae import config as config_mod
from ijae.tune import space as space_mod

PROTOCOL = ("data.split=validation", "eval.fid_reference=heldout")
EVAL_SETTINGS = {"kid": False, "prc": False, "verbose": False}


def base_config(config_path: str | Path, space: space_mod.Space, dataset: str, seed: int) -> dict:
    """The raw config every trial of ``space`` starts from: the profile's file with the
    model's hand-sized preset, on ``dataset``, training seed ``seed``."""
    raw = config_mod.read_yaml(Path(config_path))
    if space.model != (raw.get("model") or {}).get("name", "ijae"):
        raw = config_mod.with_model(raw, space.model)
    return config_mod.apply_overrides(raw, [f"data.dataset={dataset}", f"seed={seed}"])


def trial_config(base: dict, space: space_mod.Space, values: dict, sets=()) -> config_mod.RunConfig:
    """The run config of one trial: ``base`` with the space's fixed settings and ``values``,
    then ``sets`` (the workflow's ``key=value`` overrides), then PROTOCOL."""
    resolved = space_mod.apply(space, base, values)
    return config_mod.from_dict(config_mod.apply_overrides(resolved, [*sets, *PROTOCOL]))


def run(cfg: config_mod.RunConfig, folder: str | Path) -> dict:
    """Train (resuming), export and evaluate ``cfg`` in ``folder``; returns its record."""
    from ijae import export, metrics, registry
    from ijae.metrics import record

    folder = Path(folder)
    registry.get_adapter(cfg.model.name).train(cfg, folder, resume=True)
    export.export_run(folder)
    metrics.evaluate_run(folder, **EVAL_SETTINGS)
    return record.read(folder)


def values_text(values: dict) -> str:
    """'train.lr_d=4e-04, model.sigma=0.1': a trial's values on one line."""
    def shown(v):
        return f"{v:.3g}" if isinstance(v, float) else json.dumps(v) if not isinstance(v, str) else v

    return ", ".join(f"{k}={shown(v)}" for k, v in values.items())
