"""The training loop, with atomic checkpoints and exact resume, for any trainable model.

A trainable model is an ``nn.Module`` with
    make_optimizers(train_cfg) -> {name: optimizer}     (one per network)
    train_step(next_batch, optimizers, autocast, d_steps) -> {loss name: scalar tensor}
    loss_names                                           (the keys train_step returns)
    sample(n, like) / reconstruct(x)                     (images in [-1, 1], for export)
lambda-IJAE's step (ijae/model.py): ``d_steps`` updates of the three discriminators, then one
update of G and E, each on a fresh batch. Batches are drawn i.i.d. from the train split with a
dedicated generator, so the data order is part of the saved RNG state. On CPU a run killed at
any point and resumed with ``--resume`` ends bit-identical to an uninterrupted one.

Run folder: config.yaml (resolved config), checkpoint.pt, losses.csv (one row per step),
timing.json (training wall and CPU seconds up to the checkpoint, over every resume), .lock (held while a
process works on the folder, ijae/runlock.py), and for each step N of ``train.snapshot_steps``
steps/N/: config.yaml, checkpoint.pt and timing.json as an N-step run leaves them (on CPU its
weights are those of an N-step run, bit for bit), so ``ijae export`` / ``ijae evaluate`` score
it like any run (learning curves). Speed options: ijae/accel.py.

Progress goes to stderr: a line when a run starts or resumes (from which step), tqdm's bar with
the time left at a terminal and, where stderr is not a terminal (a workflow job's log), a line at
every checkpoint in its place; and to RUN/progress.json (step, total, seconds, time left) every
few seconds, which ``ijae status`` reads for every run of a work folder.
"""
from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ijae import UserError, accel, checkpoint, config as config_mod, runlock
from ijae.contract import CHECKPOINT, CONFIG, PROGRESS, atomic_write_text, read_timing, write_timing
from ijae.data import load_dataset
from ijae.device import resolve_device
from ijae.registry import build_model

LOSSES = "losses.csv"
# Keys that may change when a run is resumed (extend it, checkpoint more often, log differently).
# The speed options (accel.py) change no arithmetic beyond rounding, so they may change too.
RESUMABLE_CHANGES = {"train.steps", "train.checkpoint_every", "train.snapshot_steps", "train.log_every",
                     "train.adam_impl", "train.cuda_graphs", "train.compile"}
STEPS = "steps"   # RUN/steps/<N>/: the run at step N (train.snapshot_steps), a run folder of its own
# Sections read only after training (ijae export / evaluate take them from the run's config.yaml,
# which a resume rewrites): any of their keys may change on resume.
RESUMABLE_SECTIONS = ("export.", "eval.")


class TrainingError(UserError, RuntimeError):
    """Training cannot go on (a non-finite loss); the message names the step and the loss."""


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def _check_resumable(cfg, run: Path) -> None:
    try:   # a missing or corrupt config.yaml is one line naming it, as in export / evaluate
        saved = _flatten(config_mod.read_yaml(run / CONFIG))
    except config_mod.ConfigError as error:
        raise UserError(f"cannot resume {run}: {error} (the run's resolved config, written by "
                        "`ijae train`; restore it or train into a new --out)") from None
    now = _flatten(cfg.to_dict())
    changed = sorted(k for k in saved.keys() | now.keys()
                     if saved.get(k) != now.get(k) and k not in RESUMABLE_CHANGES
                     and not k.startswith(RESUMABLE_SECTIONS))
    if changed:
        k = changed[0]
        raise UserError(f"cannot resume {run}: its config has {k} = {saved.get(k)!r}, the new one "
                        f"{now.get(k)!r} (all differing keys: {', '.join(changed)}); only "
                        f"{', '.join(sorted(RESUMABLE_CHANGES))} and the export.* / eval.* keys may change "
                        "on resume")


class LossLog:
    """Per-step losses kept on the device and written to CSV in chunks (one sync per flush)."""

    def __init__(self, path: Path, names: list[str], resume_step: int | None):
        self.path, self.names, self.pending = path, ["step", *names], []
        if resume_step is None or not path.is_file():
            atomic_write_text(path, ",".join(self.names) + "\n")
        else:  # drop rows written after the checkpoint (and any line cut short by a kill)
            lines = path.read_text().splitlines()
            kept = [lines[0]] + [ln for ln in lines[1:] if ln.count(",") == len(self.names) - 1
                                 and ln.split(",")[0].isdigit() and int(ln.split(",")[0]) <= resume_step]
            atomic_write_text(path, "\n".join(kept) + "\n")

    def add(self, step: int, values: dict[str, torch.Tensor]) -> None:
        self.pending.append((step, torch.stack([values[n].detach().float() for n in self.names[1:]])))

    def flush(self) -> dict[str, float]:
        """Write pending rows; raise TrainingError at the first non-finite loss. Returns the last row."""
        if not self.pending:
            return {}
        steps = [s for s, _ in self.pending]
        table = torch.stack([v for _, v in self.pending]).cpu()
        self.pending = []
        bad = (~torch.isfinite(table)).nonzero()
        if len(bad):
            row, col = bad[0].tolist()
            raise TrainingError(f"non-finite loss at step {steps[row]}: {self.names[col + 1]} = "
                                f"{table[row, col].item()}; training stopped. "
                                f"{checkpoint.describe(self.path.parent / CHECKPOINT)} "
                                "(try a lower learning rate or train.bf16=false)")
        with self.path.open("a") as handle:
            for step, row in zip(steps, table.tolist()):
                handle.write(",".join([str(step)] + [f"{v:.6g}" for v in row]) + "\n")
        return dict(zip(self.names[1:], table[-1].tolist()))


PROGRESS_EVERY_S = 5.0   # how often RUN/progress.json is rewritten while a run trains


def write_progress(run: Path, step: int, start: int, total: int, seconds: float) -> None:
    """RUN/progress.json: where the run is and, from its pace since it (re)started, time left."""
    import json

    per_step = seconds / (step - start) if step > start else None
    atomic_write_text(run / PROGRESS, json.dumps({
        "step": step, "total": total, "seconds": round(seconds, 1),
        "seconds_per_step": None if per_step is None else round(per_step, 4),
        "seconds_left": None if per_step is None else round(per_step * (total - step), 1),
        "updated": time.time()}) + "\n")


def progress_line(step: int, start: int, total: int, seconds: float, losses: dict) -> str:
    """'step 400 / 1200 (33 %), 41 s, 0.103 s/step, about 82 s left; d_loss 1.31, ...'."""
    per_step = seconds / max(step - start, 1)
    shown = ", ".join(f"{k} {v:.3g}" for k, v in list(losses.items())[:4])
    return (f"ijae train: step {step} / {total} ({step / total:.0%}), {seconds:.0f} s, "
            f"{per_step:.3f} s/step, about {per_step * (total - step):.0f} s left; {shown}")


def snapshot_config(cfg, step: int):
    """The config of the run's step-``step`` snapshot: the run's, trained for ``step`` steps."""
    raw = cfg.to_dict()
    raw["train"] = {**raw["train"], "steps": step, "snapshot_steps": []}
    return config_mod.from_dict(raw)


def snapshot_folders(run: str | Path) -> dict[int, Path]:
    """{step: folder} of the run's snapshots that are complete (their checkpoint written)."""
    root = Path(run) / STEPS
    found = {int(p.name): p for p in root.iterdir() if p.name.isdigit()} if root.is_dir() else {}
    return {step: p for step, p in sorted(found.items()) if (p / CHECKPOINT).is_file()}


def train(cfg, out: str | Path, resume: bool = False) -> Path:
    """Train the model ``cfg`` describes into run folder ``out``; returns the folder. The folder
    is locked for the whole run (ijae.runlock): a second process on it fails at once."""
    run = Path(out)
    device = resolve_device(cfg.train.device)
    # the run's device is the current one while the model, its CUDA graph and every step are
    # built and run: on cuda:N (N > 0) a graph captured on the default device replays nothing
    with runlock.hold(run, "train", create=True), accel.device_context(device):
        _train(cfg, run, resume, device)
    return run


def _train(cfg, run: Path, resume: bool, device: torch.device) -> None:
    t = cfg.train
    has_checkpoint = (run / CHECKPOINT).is_file()
    if has_checkpoint and not resume:
        raise UserError(f"{run} already holds a checkpoint; pass --resume to continue it, "
                        "or choose another --out")
    if has_checkpoint:
        _check_resumable(cfg, run)
    precision, note = accel.precision(t.bf16, device)
    if note:
        print(f"ijae train: {note}", file=sys.stderr)

    torch.manual_seed(cfg.seed)
    memory_format = torch.channels_last if t.channels_last else torch.contiguous_format
    sampler = accel.BatchSampler(load_dataset(cfg.data).train, t.batch_size, cfg.seed + 1, device,
                                 memory_format)
    model = build_model(cfg, sampler.data.shape[1]).to(device)
    if memory_format is torch.channels_last:
        model.to(memory_format=memory_format)
    optimizers = model.make_optimizers(t)
    use_graphs = accel.graphs_apply(model, device, t.cuda_graphs)
    start = 0
    kept = snapshot_folders(run)
    if has_checkpoint:
        state = checkpoint.load(run / CHECKPOINT, device)
        start = state["step"]
        if start > t.steps:
            raise UserError(f"cannot resume {run}: its checkpoint is at step {start}, past "
                            f"train.steps = {t.steps}; pass --steps {start} or more to go on")
        lost = [s for s in t.snapshot_steps if s < start and s not in kept]
        if lost:
            raise UserError(f"cannot resume {run} with train.snapshot_steps {lost[0]}: its checkpoint is "
                            f"at step {start}, so the weights of step {lost[0]} are gone; train into a "
                            "new --out to keep that step")
        model.load_state_dict(state["model"])
        for name, opt in optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        checkpoint.restore_rng(state["rng"], sampler.generator, fallback_seed=cfg.seed + 1 + start)
    # after the load, which restores the flags the checkpoint was saved with (RESUMABLE_CHANGES)
    accel.configure_adam(optimizers, t.adam_impl, device, capturable=use_graphs)
    atomic_write_text(run / CONFIG, config_mod.dump(cfg))  # only once a resume's load succeeded
    accel.compile_networks(model, t.compile)

    # training seconds: those of the checkpoint resumed from (timing.json) plus this process's
    timing = read_timing(run) if has_checkpoint else {}
    spent, spent_cpu = timing.get("seconds", 0.0), timing.get("cpu_seconds", 0.0)
    began, began_cpu = time.perf_counter(), time.process_time()

    def save_checkpoint(step: int, folder: Path = run, folder_cfg=cfg) -> None:
        checkpoint.save(folder / CHECKPOINT, step=step, model=model.state_dict(),
                        optimizers={n: o.state_dict() for n, o in optimizers.items()},
                        rng=checkpoint.rng_state(sampler.generator), config=folder_cfg.to_dict())
        write_timing(folder, spent + time.perf_counter() - began,
                     spent_cpu + time.process_time() - began_cpu, torch.get_num_threads(), step,
                     precision=precision)

    def save_snapshot(step: int) -> None:
        """RUN/steps/<step>/ as the run folder a ``step``-step run would leave (its config says
        train.steps = step): its config, timing and, written last, its checkpoint. Written before
        the run's own checkpoint at that step, so a kill in between redoes the step and the snapshot."""
        folder = run / STEPS / str(step)
        folder.mkdir(parents=True, exist_ok=True)
        snapshot_cfg = snapshot_config(cfg, step)
        atomic_write_text(folder / CONFIG, config_mod.dump(snapshot_cfg))
        save_checkpoint(step, folder, snapshot_cfg)

    log = LossLog(run / LOSSES, model.loss_names, start if has_checkpoint else None)
    use_bf16 = precision == "bf16 autocast"

    def autocast():  # a CUDA graph must not keep autocast's cast cache across replays
        return (torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=not use_graphs)
                if use_bf16 else contextlib.nullcontext())

    def step_once() -> dict[str, torch.Tensor]:
        return model.train_step(sampler, optimizers, autocast, d_steps=t.d_steps)

    snapshots = set(t.snapshot_steps)
    if start in snapshots and start not in kept:
        save_snapshot(start)   # the checkpoint resumed from is that step: a longer run of a finished one
    run_step = accel.GraphedStep(step_once, optimizers, [sampler.generator]) if use_graphs else step_once
    model.train()
    progress = tqdm(total=t.steps, initial=start, desc=f"train {run.name}", file=sys.stderr,
                    dynamic_ncols=True, disable=None)
    if start >= t.steps:
        print(f"ijae train: {run} is already at step {start} of {t.steps}", file=sys.stderr)
    else:
        what = f"resuming from its checkpoint at step {start}" if has_checkpoint else "starting"
        print(f"ijae train: {run}: {what}, {t.steps} steps, {cfg.model.name} on "
              f"{cfg.data.dataset} ({cfg.data.split} held out), seed {cfg.seed}, {device}, "
              f"{torch.get_num_threads()} thread(s), {precision}", file=sys.stderr, flush=True)
    write_progress(run, start, start, t.steps, 0.0)
    shown_at = time.perf_counter()
    for step in range(start + 1, t.steps + 1):
        log.add(step, run_step())   # stays on the device: no host sync until the flush
        if time.perf_counter() - shown_at > PROGRESS_EVERY_S or step == t.steps:
            shown_at = time.perf_counter()
            write_progress(run, step, start, t.steps, shown_at - began)
        snapshot = step in snapshots
        if step % t.log_every == 0 or step % t.checkpoint_every == 0 or step == t.steps or snapshot:
            last = log.flush()
            progress.set_postfix({k: f"{v:.3g}" for k, v in list(last.items())[:4]})
        if snapshot:
            save_snapshot(step)
        if step % t.checkpoint_every == 0 or step == t.steps:
            save_checkpoint(step)
            if progress.disable:   # a log file: one line per checkpoint instead of the bar
                print(progress_line(step, start, t.steps, time.perf_counter() - began, last),
                      file=sys.stderr, flush=True)
        progress.update(1)
    progress.close()
