"""Where every run of a work folder stands: ``ijae status [WORK]``.

A workflow prints "N of M steps done" per job, and a training job takes minutes; this reads each
run folder's own files instead: ``progress.json`` (step, total, time left; written by the training
loop every few seconds), ``train.done`` / ``metrics.json`` (the workflow's markers) and the run's
lock (ijae/runlock.py: held while a process works on it). A run whose progress has not moved for
STALE_S and whose lock nobody holds was stopped (a kill): the workflow resumes it.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ijae.contract import CONFIG, METRICS, PROGRESS, SAMPLES, TIMING

STALE_S = 120
DONE_MARK = "train.done"   # the workflow's train job output (rules/runs.smk)


@dataclass
class RunState:
    run: Path
    state: str            # scored | exported | trained | training | stopped | waiting
    step: int | None
    total: int | None
    seconds_left: float | None


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


LOG_LINE = re.compile(r"step (\d+) / (\d+) .*?about (\d+) s left")


def _from_log(run: Path) -> dict:
    """progress.json's fields from the train.log's last progress line (runs trained before it)."""
    log = run / "train.log"
    try:
        found = LOG_LINE.findall(log.read_text(errors="replace"))
    except OSError:
        return {}
    if not found:
        return {}
    step, total, left = map(int, found[-1])
    return {"step": step, "total": total, "seconds_left": left, "updated": log.stat().st_mtime}


def _total_steps(run: Path) -> int | None:
    import yaml

    try:
        return int(yaml.safe_load((run / CONFIG).read_text())["train"]["steps"])
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError):
        return None


def run_folders(work: Path) -> list[Path]:
    """Every folder under ``work`` holding a run's config (runs, budget runs, snapshots, trials)."""
    return sorted(p.parent for p in Path(work).rglob(CONFIG)
                  if not any(part.startswith(".") for part in p.parts))


def state_of(run: Path, now: float | None = None) -> RunState:
    from ijae import runlock

    now = time.time() if now is None else now
    progress = _read(run / PROGRESS) or _from_log(run)
    if not progress:   # a snapshot (RUN/steps/N) or a run of a model whose training logs no steps
        step = _read(run / TIMING).get("step")
        total = _total_steps(run)
        if step is not None and total is not None:
            progress = {"step": step, "total": total, "updated": 0}
    step, total = progress.get("step"), progress.get("total")
    left = progress.get("seconds_left")
    if (run / METRICS).is_file():
        state = "scored"
    elif (run / SAMPLES).is_file():
        state = "exported"
    elif (run / DONE_MARK).is_file() or (step is not None and step == total):
        state = "trained"
    elif progress:
        moving = now - progress.get("updated", 0) < STALE_S
        state = "training" if moving or not runlock.is_free(run) else "stopped"
    else:
        state = "waiting" if runlock.is_free(run) else "training"
    return RunState(run, state, step, total, left)


def _clock(seconds) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def report(work: str | Path, now: float | None = None) -> str:
    """The status table of every run under ``work`` and a summary line."""
    work = Path(work)
    states = [state_of(r, now) for r in run_folders(work)]
    if not states:
        return f"{work}: no run folder yet (nothing started)"
    lines = []
    for s in states:
        where = "" if s.step is None else f"step {s.step} / {s.total} ({s.step / max(s.total, 1):.0%})"
        left = f", about {_clock(s.seconds_left)} left" if s.state == "training" else ""
        lines.append(f"{s.run.relative_to(work).as_posix():<60} {s.state:<9} {where}{left}")
    counts = {}
    for s in states:
        counts[s.state] = counts.get(s.state, 0) + 1
    training = [s.seconds_left for s in states if s.state == "training" and s.seconds_left]
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    tail = f"; the training ones finish in about {_clock(max(training))}" if training else ""
    return "\n".join(lines + [f"{len(states)} runs: {summary}{tail}"])
