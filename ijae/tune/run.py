"""`ijae tune`: one study from a profile's config, start to finish: its search space, its
storage, its workers' trials, then (the owner) its trials table and its tuned preset."""
from __future__ import annotations

import sys
from pathlib import Path

from ijae import UserError, config, data, work_dir
from ijae.contract import atomic_write_text
from ijae.metrics.record import portable_path
from ijae.tune import preset, space as space_mod, storage, study as study_mod, trial


def space_of(profile: str, study: str, path: str | Path | None) -> space_mod.Space:
    """The study's search space: ``path``, else the one beside the profile's presets (a study
    without one is a UserError naming the studies that have one)."""
    default = space_mod.space_path(profile, study)
    path = Path(path) if path else default
    if path == default and not path.is_file():
        have = sorted(space_mod.study_of(f) for f in path.parent.glob(f"*{space_mod.SPACE_SUFFIX}"))
        raise UserError(f"study {study!r}: no search space {path} for the {profile} profile; "
                        f"the studies with one: {', '.join(have) or 'none'}")
    return space_mod.read_space(path)


def tune(config_path, study: str | None = None, space=None, dataset: str | None = None,
         trials: int = 6, seed: int = 0, design_seed: int = 0, storage_spec=None, folder=None,
         sets=(), worker: bool = False, preset_out=None, trials_out=None) -> Path | None:
    """Run (or join, with ``worker``) the study of ``study`` on ``dataset``; the owner writes
    the trials table and the tuned preset and returns the preset's path."""
    raw = config.read_yaml(Path(config_path))
    profile = raw.get("profile", "paper")
    study = study or (raw.get("model") or {}).get("name", "ijae")
    found = space_of(profile, study, space)
    dataset = dataset or config.from_dict(raw).data.dataset
    from ijae import datasets

    if dataset not in datasets.names():
        raise config.ConfigError(f"--dataset {dataset}: expected one of {datasets.names()}")
    store = storage_spec or storage.default_journal(profile)
    shown = store if storage.is_url(store) else portable_path(store)
    root = Path(folder) if folder else work_dir() / "tune" / profile / dataset
    base = trial.base_config(config_path, found, dataset, seed)
    opened = study_mod.open_study(store, profile, dataset, found, base, root, trials, seed=seed,
                                  design_seed=design_seed, sets=sets)
    print(f"ijae tune [{opened.name}]: {trials} trials of {found.model} on {dataset} "
          f"({data.image_size(config.from_dict(base).data)} px), criterion "
          f"{study_mod.criterion.NAME}; storage {shown}; trial folders {opened.folder}",
          file=sys.stderr, flush=True)
    with storage.read_guard(store):
        complete = study_mod.work(opened, owner=not worker)
        if worker:
            return None
        if not complete:
            raise UserError(f"study {opened.name}: {len(study_mod.final_trials(opened))} of "
                            f"{trials} trials finished (the others are still running "
                            "elsewhere); run `ijae tune` again to wait for them")
        table = study_mod.trials_table(opened, profile, dataset)
    out = Path(trials_out) if trials_out else root / f"{found.study}.trials.csv"
    atomic_write_text(out, table.to_csv(index=False))
    written = preset.write(
        preset_out or config.REPO / "config" / "tuned" / profile / dataset / f"{found.study}.yaml",
        opened, profile, dataset,
        {"sampler": f"random design, seed {design_seed}", "training_seed": seed,
         "settings": list(sets), "storage": "(an RDB URL)" if storage.is_url(store) else shown})
    print(f"ijae tune [{opened.name}]: {study_mod.best(opened)}; {out}, {written}", file=sys.stderr)
    return written
