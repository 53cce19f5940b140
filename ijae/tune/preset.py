"""The tuned preset a finished study writes: ``config/tuned/<profile>/<dataset>/<study>.yaml``.

It holds the sections of the model's hand-sized preset with the best trial's values put in (and
the study's fixed settings, e.g. its compute per trial), so it replaces the hand-sized preset
where the workflow uses tuned presets (``--preset``; ijae/config.py). Its ``tuned`` block is
provenance, dropped when the preset is applied: the study, K, the criterion, the best trial and
value against the hand-sized preset's (trial 0), the commit and the storage.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import yaml

from ijae import UserError, config as config_mod
from ijae.contract import atomic_write_text
from ijae.tune import criterion, space as space_mod


def preset_sections(study, values: dict) -> dict:
    """The hand-sized preset's sections with ``values`` and the fixed settings: each key's whole
    ``section.name`` entry (a list key such as train.betas.0 brings the whole list)."""
    # λ-IJAE has no preset file (the profile's file is its hand-sized config): {}
    hand = config_mod.load_preset(study.base.get("profile", "paper"), study.space.model)
    out = json.loads(json.dumps({k: v for k, v in hand.items() if k != config_mod.TUNED}))
    resolved = space_mod.apply(study.space, study.base, values)
    for key in study.space.overrides(values):
        section, name = key.split(".")[:2]
        out.setdefault(section, {})[name] = resolved[section][name]
    return out


def write(path: str | Path, study, profile: str, dataset: str, provenance: dict) -> Path:
    """Write the tuned preset of ``study``'s best trial to ``path`` (atomically)."""
    from ijae.metrics import record
    from ijae.metrics.record import git_state, portable_path
    from ijae.tune.study import DESIGN, best_trial, final_trials, trial_folder

    path = Path(path)
    finished = final_trials(study)
    top = best_trial(study)
    hand = finished.get(0)
    hand_value = None if hand is None else hand.value if hand.state.name == "COMPLETE" else \
        f"failed: {hand.user_attrs.get('failure', '')}"
    values = dict(top.params) if top is not None else space_mod.hand_values(study.space, study.base)
    git = git_state()
    commits = set()
    for design in finished:   # the commits the trials ran at, from their records
        try:
            commits.add(str(record.read(trial_folder(study, design)).get("git_commit") or "")[:12])
        except UserError:   # a diverged trial has no record
            pass
    block = {
        "model": study.space.model, "study": study.name, "profile": profile, "dataset": dataset,
        "trials": len(finished), "completed": sum(t.state.name == "COMPLETE" for t in finished.values()),
        "criterion": criterion.NAME,
        "best_design_trial": None if top is None else top.user_attrs[DESIGN],
        "best_value": None if top is None else round(top.value, 6),
        "hand_value": round(hand_value, 6) if isinstance(hand_value, float) else hand_value,
        "space": portable_path(study.space.path),
        "commit": git.get("git_commit"), "dirty": git.get("git_dirty"),
        "trial_commits": sorted(commits - {""}),
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"), **provenance,
    }
    if top is None:
        block["note"] = "every trial failed: the hand-sized values are kept"
    sections = preset_sections(study, values)
    chosen = ("the hand-sized preset (design trial 0)" if top is not None and top.user_attrs[DESIGN] == 0
              else f"design trial {block['best_design_trial']}" if top is not None else "no trial")
    head = (f"# Tuned preset: {study.space.model} ({study.space.study}) on {dataset}, {profile} "
            f"profile, written by `ijae tune`.\n# Chosen: {chosen}, criterion {block['best_value']} "
            f"({criterion.NAME}; lower is better) against the hand-sized preset's {block['hand_value']},\n"
            f"# over {block['trials']} trials. Regenerate with `snakemake --cores 8 tune`; do not edit "
            "by hand.\n")
    text = head + yaml.safe_dump({config_mod.TUNED: block}, sort_keys=False, allow_unicode=True) \
        + yaml.safe_dump(sections, sort_keys=False, default_flow_style=None, allow_unicode=True)
    atomic_write_text(path, text)
    return path
