"""One Optuna study per (profile, dataset, study): its design, its workers, its trials table.

- **Name**: ``<profile>/<dataset>/<study>-<digest>``; the digest covers what the trials depend on
  (the search space, the base config and hand-sized preset, the workflow's settings, the
  protocol, the training seed), so editing any of them starts a new study beside the old one.
- **Design**: random search (Lucic et al. 2018), enqueued once with Optuna's ``enqueue_trial``:
  design trial 0 is the hand-sized preset (so tuning can only match or improve on it), trials
  1..K-1 are drawn from the space (space.design). The design is the same whatever the number of
  workers or the order they run it in; a larger K adds trials, never changes the first ones.
  Each trial carries its design index (user attr ``design``) and runs in ``FOLDER/trial-<index>``.
- **Workers**: any number of processes (Snakemake or Slurm jobs) run the same study on the same
  storage; each takes waiting trials until none is left (under FOLDER/.queue.lock, so a worker
  never makes a trial beyond the design). The owner (``ijae tune`` without ``--worker``) then
  waits for the others' trials and writes trials.csv and the tuned preset.
- **Kills**: a worker holds ``trial-<index>/.trial.lock`` while it runs the trial. A RUNNING trial
  whose lock nobody holds was interrupted: it is failed with reason "interrupted" and enqueued
  again with the same values and design index, so it resumes in its folder from its checkpoint.
  Finished trials are never run again.
- **Failures**: a non-finite loss or output (diverged) or a collapsed record
  (ijae/metrics/collapse.py) fails the trial with the reason (user attr ``failure``); the study
  goes on. The criterion: ijae/tune/criterion.py.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ijae import UserError, runlock
from ijae.tune import criterion, space as space_mod, storage as storage_mod, trial as trial_mod

TRIAL_LOCK = ".trial.lock"
QUEUE_LOCK = ".queue.lock"
GRACE_S = 120        # a trial just taken has this long to show its worker before it counts as stale
POLL_S = 20          # how often the owner looks at the other workers' trials
DESIGN, FAILURE, WORKER, RETRY_OF = "design", "failure", "worker", "retry_of"
# what a finished trial keeps of its record (user attrs: the trials table reads these)
RECORD_ATTRS = ("fid", "recon_mean", "is_mean", "recon_label_agreement", "modes_covered",
                "n_modes", "train_seconds", "train_cpu_seconds", "collapsed", "collapse_reason",
                "run")


@dataclass
class Study:
    """A study and what its trials are made of."""
    optuna: object            # optuna.Study
    space: space_mod.Space
    base: dict                # the raw config every trial starts from (trial.base_config)
    sets: tuple               # the workflow's key=value overrides of every trial
    folder: Path              # FOLDER: trial-<index>/ run folders and the lock files
    trials: int               # K
    design_seed: int

    @property
    def name(self) -> str:
        return self.optuna.study_name


def digest(space, base: dict, sets, seed: int, design_seed: int) -> str:
    blob = json.dumps({"space": space.digest(), "base": base, "sets": list(sets), "seed": seed,
                       "design_seed": design_seed, "protocol": trial_mod.PROTOCOL,
                       "criterion": criterion.NAME}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:8]


def open_study(storage_spec, profile: str, dataset: str, space: space_mod.Space, base: dict,
               root: str | Path, trials: int, seed: int = 0, design_seed: int = 0,
               sets=()) -> Study:
    """The study of ``space`` on ``dataset`` (created if new), its design enqueued up to
    ``trials``, its trial folders in ``root/<study>-<digest>/``. The space is checked against
    the model's config first (space.check)."""
    import optuna

    if trials < 1:
        raise UserError(f"--trials {trials}: expected a positive number of trials")
    hand = space_mod.check(space, base)
    tag = f"{space.study}-{digest(space, base, sets, seed, design_seed)}"
    name = f"{profile}/{dataset}/{tag}"
    storage = storage_mod.open_storage(storage_spec)
    with storage_mod.read_guard(storage_spec):
        study = optuna.create_study(study_name=name, storage=storage, direction="minimize",
                                    sampler=optuna.samplers.RandomSampler(seed=design_seed),
                                    load_if_exists=True)
        out = Study(study, space, base, tuple(sets), Path(root) / tag, trials, design_seed)
        with runlock.waiting(out.folder / QUEUE_LOCK):
            have = {t.user_attrs.get(DESIGN) for t in study.get_trials(deepcopy=False)}
            if have - {None} and max(have - {None}) >= trials:
                raise UserError(f"study {name} already holds a design of {max(have - {None}) + 1} "
                                f"trials; --trials {trials} is fewer (give {max(have - {None}) + 1} "
                                "or more)")
            if not have:
                study.set_user_attr("criterion", criterion.NAME)
                study.set_user_attr("space", str(space.path))
                study.set_user_attr("model", space.model)
            for i, values in enumerate([hand, *space_mod.design(space, trials, design_seed)]):
                if i not in have:
                    study.enqueue_trial(values, user_attrs={DESIGN: i})
    return out


def trial_folder(study: Study, design: int) -> Path:
    return study.folder / f"trial-{design:02d}"


def _fixed_values(trial) -> dict:
    """The values a trial was enqueued with (Optuna keeps them as its fixed params)."""
    return dict(trial.system_attrs.get("fixed_params") or trial.params)


def recover(study: Study, log) -> list[int]:
    """Fail every interrupted trial (RUNNING, its lock free) and enqueue it again; returns the
    numbers of the trials failed."""
    from optuna.trial import TrialState

    failed = []
    for t in study.optuna.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        folder = trial_folder(study, t.user_attrs[DESIGN])
        young = WORKER not in t.user_attrs and t.datetime_start is not None and \
            (time.time() - t.datetime_start.timestamp()) < GRACE_S
        if young or not runlock.is_free(folder, TRIAL_LOCK):
            continue
        with runlock.waiting(study.folder / QUEUE_LOCK):
            now = study.optuna._storage.get_trial(t._trial_id)
            if now.state != TrialState.RUNNING or not runlock.is_free(folder, TRIAL_LOCK):
                continue
            study.optuna._storage.set_trial_user_attr(
                t._trial_id, FAILURE, f"interrupted: its worker ({t.user_attrs.get(WORKER, '?')}) "
                                      "stopped; retried in the same folder")
            study.optuna.tell(t.number, state=TrialState.FAIL)
            study.optuna.enqueue_trial(_fixed_values(now), user_attrs={
                DESIGN: t.user_attrs[DESIGN], RETRY_OF: t.number})
        failed.append(t.number)
        log(f"trial {t.number} (design {t.user_attrs[DESIGN]}) was interrupted: queued again, "
            f"to resume from {folder}")
    return failed


def take(study: Study):
    """A waiting trial of the design (Optuna's ask pops enqueued trials first), or None."""
    from optuna.trial import TrialState

    with runlock.waiting(study.folder / QUEUE_LOCK):
        if not study.optuna.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            return None
        return study.optuna.ask()


def suggest(trial, p: space_mod.Param):
    if p.choices is not None:
        return trial.suggest_categorical(p.name, list(p.choices))
    if p.integer:
        return trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)
    return trial.suggest_float(p.name, p.low, p.high, log=p.log)


def run_one(study: Study, trial, log) -> None:
    """Run one taken trial through the contract and tell the study its outcome."""
    from optuna.trial import TrialState

    from ijae.export import NonFiniteOutputError
    from ijae.metrics import keys as K
    from ijae.train import TrainingError

    design = trial.user_attrs[DESIGN]
    folder = trial_folder(study, design)
    with runlock.hold(folder, "tune", create=True, name=TRIAL_LOCK):
        trial.set_user_attr(WORKER, f"{socket.gethostname()}:{os.getpid()}")
        values = {p.name: suggest(trial, p) for p in study.space.params}
        cfg = trial_mod.trial_config(study.base, study.space, values, study.sets)
        start = time.perf_counter()
        try:
            record = trial_mod.run(cfg, folder)
        except (TrainingError, NonFiniteOutputError) as error:
            trial.set_user_attr(FAILURE, f"diverged: {' '.join(str(error).split())[:300]}")
            study.optuna.tell(trial, state=TrialState.FAIL)
            log(line(trial.number, design, values, None, time.perf_counter() - start,
                     trial.user_attrs.get(FAILURE) or "diverged"), best(study))
            return
        try:
            value = criterion.value(record, where=str(folder))
        except criterion.UnscoredError as error:   # e.g. a NaN FID of degenerate samples
            trial.set_user_attr(FAILURE, f"unscored: {error}")
            study.optuna.tell(trial, state=TrialState.FAIL)
            log(line(trial.number, design, values, None, time.perf_counter() - start,
                     trial.user_attrs.get(FAILURE)), best(study))
            return
        for key in RECORD_ATTRS:
            if record.get(key) is not None:
                trial.set_user_attr(key, record[key])
        trial.set_user_attr("criterion_value", value)
        if record.get(K.KEY_COLLAPSED):
            trial.set_user_attr(FAILURE, f"collapsed: {record.get(K.KEY_COLLAPSE_REASON)}")
            study.optuna.tell(trial, state=TrialState.FAIL)
        else:
            study.optuna.tell(trial, value)
        log(line(trial.number, design, values, record, time.perf_counter() - start,
                 f"collapsed ({record.get(K.KEY_COLLAPSE_REASON)})" if record.get(K.KEY_COLLAPSED)
                 else None, value), best(study))


def line(number: int, design: int, values: dict, record, seconds: float, failure: str | None,
         value: float | None = None) -> str:
    """The progress line of one trial: its values, its criterion (or why it failed), its time."""
    head = f"trial {number} (design {design}{', the hand-sized preset' if design == 0 else ''}): " \
           f"{trial_mod.values_text(values)}"
    if record is not None and value is not None:
        head += (f" -> criterion {value:.4f} (FID {record.get('fid', float('nan')):.4g}, "
                 f"reconstruction {record.get('recon_mean', float('nan')):.4g})")
    if failure:
        head += f" -> FAILED: {failure}"
    return f"{head}; {seconds:.0f} s"


def best(study: Study) -> str:
    """'best so far: trial 3 (design 2), 4.1021'."""
    from optuna.trial import TrialState

    done = [t for t in study.optuna.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if not done:
        return "best so far: none (no trial completed)"
    top = min(done, key=lambda t: (t.value, t.user_attrs[DESIGN]))
    return f"best so far: trial {top.number} (design {top.user_attrs[DESIGN]}), {top.value:.4f}"


def final_trials(study: Study) -> dict:
    """design index -> the trial that decided it (finished, not an interrupted one)."""
    from optuna.trial import TrialState

    out = {}
    for t in study.optuna.get_trials(deepcopy=False):
        if t.state in (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED) and \
                not str(t.user_attrs.get(FAILURE, "")).startswith("interrupted"):
            out[t.user_attrs[DESIGN]] = t
    return out


def work(study: Study, owner: bool = True, log=None) -> bool:
    """Take and run trials until none is waiting; the owner then waits for the other workers'.
    Returns whether every design trial has finished."""
    from optuna.trial import TrialState

    def say(*parts):
        print(f"ijae tune [{study.name}]: " + "; ".join(parts), file=sys.stderr, flush=True)

    log = log or say
    while True:
        recover(study, log)
        trial = take(study)
        if trial is not None:
            run_one(study, trial, log)
            continue
        finished = final_trials(study)
        if len(finished) >= study.trials or not owner:
            return len(finished) >= study.trials
        running = study.optuna.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if not running:
            return len(finished) >= study.trials
        log(f"waiting for {len(running)} trial(s) of other workers "
            f"({', '.join(str(t.number) for t in running)})")
        time.sleep(POLL_S)


def trials_table(study: Study, profile: str, dataset: str):
    """One row per trial (interrupted ones too, marked): design index, state, values,
    criterion, failure, what its record said; the input of the tuning report."""
    import pandas as pd

    rows = []
    for t in study.optuna.get_trials(deepcopy=False):
        rows.append({"profile": profile, "dataset": dataset, "study": study.space.study,
                     "model": study.space.model, "study_name": study.name, "trial": t.number,
                     "design": t.user_attrs.get(DESIGN), "state": t.state.name,
                     "criterion": t.value if t.value is not None else t.user_attrs.get("criterion_value"),
                     "failure": t.user_attrs.get(FAILURE, ""),
                     "retry_of": t.user_attrs.get(RETRY_OF),
                     **{f"param_{k}": v for k, v in _fixed_values(t).items()},
                     **{k: t.user_attrs.get(k) for k in RECORD_ATTRS}})
    return pd.DataFrame(rows)


def best_trial(study: Study):
    """The completed trial with the lowest criterion (ties: the lower design index), or None."""
    done = [t for t in final_trials(study).values() if t.value is not None and t.state.name == "COMPLETE"]
    return min(done, key=lambda t: (t.value, t.user_attrs[DESIGN])) if done else None
