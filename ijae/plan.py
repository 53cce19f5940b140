"""The experiment plan: which runs each target needs, each run a value that knows its id, folder,
preset, `ijae train` options, steps, samples and memory. The workflow (rules/common.smk) reads
its runs from here, and ``ijae plan --json TARGET`` prints them, so the plan is testable without
Snakemake. Imports nothing heavy (the workflow reads it while it parses): a run's settings come
from the profile's YAML, its preset's and its overrides, merged by ijae/presets.py's one
precedence, without importing a model.

Experiments are data on the workflow config (config/workflow.yaml): ``table_runs`` (Table 1,
its seeded version, every sweep run), ``budget_runs``, ``stacked_mnist_runs``, ``studies`` and
``calibrated`` datasets.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ijae.config_sections import ExportConfig, TrainConfig

# The run-id grammar, written once: MODEL[-VARIANT-lamLAMBDA]-seedSEED, e.g. vae-seed0 or
# ijae-l1-lam0.5-seed0; a run lives in <work>/runs/<profile>/<dataset>/<id>.
RUN_ID = re.compile(
    r"(?P<model>[a-z0-9_]+)(-(?P<variant>implicit|l1|l2)-lam(?P<lam>[0-9.]+))?-seed(?P<seed>[0-9]+)")
TABLES = ("metrics_table1", "metrics_seeds", "metrics")


def run_id(model: str, seed, variant: str | None = None, lam=None) -> str:
    lam_part = f"-{variant}-lam{float(lam):g}" if variant else ""
    return f"{model}{lam_part}-seed{seed}"


def _yaml(path) -> dict | None:
    path = Path(path)
    return yaml.safe_load(path.read_text()) if path.is_file() else None


@dataclass(frozen=True)
class Run:
    """One run of a target: what it trains and with which options (``sets``: its dataset's
    protocol and the workflow's `set`, in that order), where it lives, and what it needs."""
    dataset: str
    model: str
    seed: int
    variant: str | None = None
    lam: str | None = None              # as the id writes it (e.g. "0.3")
    preset: str | None = None           # a tuned preset file, or None: the hand-sized one
    sets: tuple[str, ...] = ()
    snapshots: tuple[int, ...] = ()     # budget runs: the steps kept (the last is trained to)
    root: str = "runs"                  # runs | budget
    profile: str = "default"
    steps: int = 0                      # train.steps, resolved (the last snapshot for a budget run)
    n_samples: int = 0                  # export.n_samples, resolved
    gpu: int = 0

    @property
    def id(self) -> str:
        return run_id(self.model, self.seed, self.variant, self.lam)

    def folder(self, work: str) -> str:
        return f"{work}/{self.root}/{self.profile}/{self.dataset}/{self.id}"

    def train_args(self) -> list[str]:
        """The `ijae train` options after the profile's config file."""
        args = ["--model", self.model, "--seed", str(self.seed), "--set", f"data.dataset={self.dataset}"]
        if self.preset:
            args += ["--preset", self.preset]
        if self.variant:
            args += ["--set", f"model.variant={self.variant}", "--set", f"model.lam={self.lam}"]
        for override in self.sets:
            args += ["--set", override]
        if self.snapshots:
            args += ["--set", f"train.steps={self.snapshots[-1]}",
                     "--set", f"train.snapshot_steps=[{','.join(map(str, self.snapshots))}]"]
        return args

    @property
    def mem_mb(self) -> int:
        """An evaluate job's memory: 1 GB + 0.2 MB a sample (5.3 GB measured at 26,000, where
        eight at once were killed)."""
        return 1000 + self.n_samples // 5

    def as_dict(self, work: str) -> dict:
        return {"id": self.id, "folder": self.folder(work), "dataset": self.dataset,
                "model": self.model, "variant": self.variant, "lambda": self.lam,
                "seed": self.seed, "preset": self.preset, "steps": self.steps,
                "snapshots": list(self.snapshots), "n_samples": self.n_samples,
                "mem_mb": self.mem_mb, "gpu": self.gpu, "train_args": self.train_args()}


@dataclass
class Plan:
    """The runs of a workflow config (config/workflow.yaml, validated), found from ``root``
    (the checkout: config/ and the tuned presets)."""
    config: dict
    root: Path = field(default_factory=Path)

    def __post_init__(self):
        c, self.root = self.config, Path(self.root)
        self.profile = c["profile"]
        self.profile_config = f"config/{self.profile}.yaml"
        prof = c["profiles"][self.profile]
        self.datasets = c["datasets"] or prof["datasets"]
        self.table1_datasets = c["datasets"] or prof.get("table1_datasets") or self.datasets
        self.seeds = c["seeds"] or prof["seeds"]
        self.sweep_seeds = c["sweep_seeds"] or prof["sweep_seeds"]
        self.lam = c["table1"]["lambda"]
        self.baselines = {d: c["table1"]["models"].get(d, []) for d in self.datasets}
        self.stacked_mnist = c["stacked_mnist"]
        self.preset_dataset = {"stacked_mnist": self.stacked_mnist["presets_from"]}
        self.train_set = list(c.get("set", []))
        self.use_tuned = c["presets"] == "tuned"
        self.gpu = int(prof.get("gpus", 0))   # GPUs a run job takes: the profile says
        self._runs = {}

    # ---- one run -------------------------------------------------------------------------
    def study_of(self, model: str, variant: str | None = None) -> str:
        """The tuning study a run's preset comes from: ijae, ijae-l1, ijae-l2 or the model."""
        return model if model != "ijae" or variant in (None, "implicit") else f"{model}-{variant}"

    def tuned_preset(self, dataset: str, study: str) -> str:
        return f"{self.config['tuned']}/{self.profile}/{dataset}/{study}.yaml"

    def preset_of(self, dataset: str, model: str, variant: str | None = None) -> str | None:
        path = self.tuned_preset(self.preset_dataset.get(dataset, dataset), self.study_of(model, variant))
        return path if self.use_tuned and (self.root / path).is_file() else None

    def sets_of(self, dataset: str) -> tuple[str, ...]:
        return (*(self.stacked_mnist["set"] if dataset == "stacked_mnist" else []), *self.train_set)

    def settings(self, dataset: str, model: str, preset: str | None) -> dict:
        """A run's settings as ijae.config merges them (the profile's file, the model's preset,
        the --set overrides: one precedence), without importing the model."""
        from ijae import config

        return config.merged(self.root / self.profile_config, list(self.sets_of(dataset)), model,
                             None if preset is None else self.root / preset, check=False)

    def run(self, dataset: str, run: str, root: str = "runs", snapshots=()) -> Run:
        """The run ``run`` (an id) on ``dataset`` (made once: the workflow asks per job)."""
        key = (dataset, run, root, tuple(snapshots))
        if key not in self._runs:
            self._runs[key] = self._make(dataset, run, root, tuple(snapshots))
        return self._runs[key]

    def _make(self, dataset: str, run: str, root: str, snapshots: tuple) -> Run:
        m = RUN_ID.fullmatch(run)
        if m is None:
            raise ValueError(f"{run!r} is not a run id (MODEL[-VARIANT-lamLAMBDA]-seedSEED)")
        preset = self.preset_of(dataset, m["model"], m["variant"])
        raw = self.settings(dataset, m["model"], preset)
        steps = (raw.get("train") or {}).get("steps") or TrainConfig.steps
        samples = (raw.get("export") or {}).get("n_samples") or ExportConfig.n_samples
        return Run(dataset, m["model"], int(m["seed"]), m["variant"], m["lam"], preset,
                   self.sets_of(dataset), tuple(snapshots), root, self.profile,
                   int(snapshots[-1]) if snapshots else int(steps or 0), int(samples), self.gpu)

    # ---- the experiments -------------------------------------------------------------------
    def sweep_lambdas(self, variant: str) -> list:
        """λ = 0 is one GAN for every variant (no likelihood term): run once, as λ-IJAE."""
        return [lam for lam in self.config["pareto"]["lambdas"] if variant == "implicit" or lam > 0]

    def table_datasets(self, table: str) -> list[str]:
        return {"metrics_table1": self.table1_datasets, "metrics_seeds": self.datasets,
                "metrics": self.datasets}[table]

    def table_seeds(self, table: str) -> list[int]:
        return self.seeds if table == "metrics_table1" else self.sweep_seeds

    def ijae_ids(self, table: str) -> list[str]:
        """λ-IJAE's run ids of a metrics table: Table 1's λ over its seeds; every table but
        Table 1's adds the λ grid and the ablations over the sweep seeds (metrics)."""
        table1 = [run_id("ijae", s, "implicit", self.lam) for s in self.table_seeds(table)]
        if table != "metrics":
            return table1
        grid = [run_id("ijae", s, v, lam) for v in self.config["pareto"]["variants"]
                for lam in self.sweep_lambdas(v) for s in self.sweep_seeds]
        return list(dict.fromkeys(table1 + grid))

    def table_runs(self, table: str, runnable=None) -> list[Run]:
        """Every run of a metrics table: λ-IJAE's, then the baselines ``runnable`` here (None:
        all of them)."""
        ids = [(d, r) for d in self.table_datasets(table) for r in self.ijae_ids(table)]
        ids += [(d, run_id(m, s)) for d in self.table_datasets(table) for m in self.baselines[d]
                if runnable is None or m in runnable for s in self.table_seeds(table)]
        return [self.run(d, r) for d, r in ids]

    def budget_runs(self) -> list[Run]:
        """λ-IJAE and its ablations at budget.lambdas, trained once to the largest multiple of
        their own steps and kept at every multiple (one 1× budget for all: an error otherwise)."""
        budget = self.config["budget"]
        pairs = [(d, run_id("ijae", s, v, lam)) for d in budget["datasets"] if d in self.datasets
                 for v in budget["variants"] for lam in budget["lambdas"]
                 if v == "implicit" or lam > 0 for s in self.sweep_seeds]
        bases = {self.run(d, r).steps for d, r in pairs}
        if len(bases) > 1:
            raise ValueError(f"the budget runs train for different steps ({sorted(bases)}): one 1× "
                             "budget is needed to compare them; set train.steps alike in their presets")
        return [self.run(d, r, "budget", [m * self.run(d, r).steps for m in sorted(budget["multiples"])])
                for d, r in pairs]

    def stacked_mnist_runs(self, runnable=None) -> list[Run]:
        sm = self.stacked_mnist
        ids = [run_id("ijae", s, "implicit", lam) for lam in sm["lambdas"] for s in sm["seeds"]]
        ids += [run_id(m, s) for m in sm["models"] if runnable is None or m in runnable
                for s in sm["seeds"]]
        return [self.run("stacked_mnist", r) for r in ids]

    def studies(self) -> list[tuple[str, str]]:
        return [(d, s) for d in self.datasets for s in self.config["tune"]["studies"]]

    def calibrated(self) -> list[str]:
        return list(dict.fromkeys([*self.datasets, *self.config["calibrate"]["datasets"]]))


TARGETS = {
    "table1": lambda p, r: p.table_runs("metrics_table1", r),
    "table1_seeds": lambda p, r: p.table_runs("metrics_seeds", r),
    "sweep": lambda p, r: p.table_runs("metrics", r),
    "all": lambda p, r: p.table_runs("metrics", r),
    "budget": lambda p, r: p.budget_runs(),
    "stacked_mnist": lambda p, r: p.stacked_mnist_runs(r),
}


def load(workflow_config: str | Path = "config/workflow.yaml", overrides: dict | None = None,
         root: str | Path = ".") -> Plan:
    """The plan of a workflow config file with ``overrides`` (as `--config` gives them) merged."""
    config = _yaml(Path(root) / workflow_config) or {}
    for key, value in (overrides or {}).items():
        config[key] = {**config[key], **value} if isinstance(value, dict) and isinstance(
            config.get(key), dict) else value
    return Plan(config, Path(root))
