"""The command line a person meets first (issue 32): every argument described, --version, the
status of a work folder's runs. Each test names what a user could not find out without it."""
from __future__ import annotations

import argparse
import json
import time

import pytest

from ijae import cli, status


def subcommands():
    parser = cli.build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices


def test_every_argument_of_every_command_is_described():
    """`ijae train --help` left config, --steps, --seed, --checkpoint-every bare."""
    bare = [f"ijae {name} {action.dest}" for name, p in subcommands().items()
            for action in p._actions
            if not isinstance(action, argparse._HelpAction) and not (action.help or "").strip()]
    assert not bare, bare


def test_version_is_printed(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("ijae ")


def fake_run(work, name, *, progress=None, files=(), config_steps=1200, timing=None):
    run = work / name
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(f"train:\n  steps: {config_steps}\n")
    if progress is not None:
        (run / "progress.json").write_text(json.dumps(progress))
    if timing is not None:
        (run / "timing.json").write_text(json.dumps(timing))
    for f in files:
        (run / f).write_text("")
    return run


def test_status_tells_every_runs_state_step_and_time_left(tmp_path, capsys):
    now = time.time()
    work = tmp_path / "work"
    fake_run(work, "runs/default/digits/ijae-implicit-lam0.3-seed0",
             progress={"step": 400, "total": 1200, "seconds_left": 250, "updated": now - 3})
    fake_run(work, "runs/default/digits/ijae-implicit-lam1-seed0",   # killed an hour ago
             progress={"step": 200, "total": 1200, "seconds_left": 600, "updated": now - 3600})
    fake_run(work, "runs/default/digits/vae-seed0", files=("train.done",))
    fake_run(work, "runs/default/digits/age-seed0", files=("train.done", "samples.npz", "metrics.json"))
    fake_run(work, "runs/default/digits/svae-seed0")                  # not started
    fake_run(work, "budget/default/digits/ijae-l1-lam1-seed0/steps/2400", config_steps=2400,
             timing={"step": 2400})
    assert cli.main(["status", str(work)]) == 0
    lines = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines()[:-1])
    assert lines["runs/default/digits/ijae-implicit-lam0.3-seed0"].startswith(
        "training  step 400 / 1200 (33%), about 4 min 10 s left")
    assert lines["runs/default/digits/ijae-implicit-lam1-seed0"].startswith("stopped")
    assert lines["runs/default/digits/vae-seed0"].startswith("trained")
    assert lines["runs/default/digits/age-seed0"].startswith("scored")
    assert lines["runs/default/digits/svae-seed0"].startswith("waiting")
    assert lines["budget/default/digits/ijae-l1-lam1-seed0/steps/2400"].startswith("trained")
    summary = status.report(work, now=now).splitlines()[-1]
    assert summary == ("6 runs: 1 scored, 1 stopped, 2 trained, 1 training, 1 waiting; the "
                       "training ones finish in about 4 min 10 s")
    assert "no run folder yet" in status.report(tmp_path / "empty")
