"""Score one run folder from its artifacts alone into ``RUN/metrics.json`` (never imports a model).

Backends (``backends.py``; default: the run config's ``eval.backend``):

- ``inception``: IS (10 splits; mean ± std over splits) of samples.npz and FID to the dataset's
  train split, torch-fidelity's ``inception-v3-compat``; LPIPS (lpips, v0.1, AlexNet) between
  each test image and its reconstruction (mean ± std over images).
- ``digits``: the same through a digits classifier, for the offline default profile; the
  reconstruction metric is ``digits-feature-distance`` (see digits.py), and beside it whether each
  reconstruction keeps its digit (``recon_label_agreement``); the samples' mode coverage (the 10
  classes). Stacked digits (stacked.py): the classifier channel by channel, 1,000 modes.

Both add KID and precision / recall (Kynkäänniemi et al. 2019) on FID's features and reference
(the train split; ``eval.fid_reference: heldout``: the run's held-out split, which tuning selects
on), and the collapse guard's measures and verdict (collapse.py).

Every setting (batch size, weights files for offline machines, the cache folder, ...) is listed
once, with its default and environment variable, in ``defaults.py``.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ijae import UserError, cache_dir
from ijae.contract import CONFIG, RECONSTRUCTIONS, SAMPLES, ContractError
from ijae.metrics import defaults
from ijae.metrics import keys as K
from ijae.metrics.backends import Scoring, get_backend


def default_cache_dir(cache: str | Path | None = None) -> Path:
    """``cache``, else env IJAE_CACHE, else the work folder's cache/ (ijae.cache_dir)."""
    return Path(defaults.get_kwarg("cache_dir", {"cache_dir": cache}) or cache_dir())


def method_fields(model: str) -> dict:
    """How tables name the model and how it is implemented, from the model registry."""
    from ijae.registry import get_adapter

    adapter = get_adapter(model)
    return {K.KEY_LABEL: adapter.label, K.KEY_IMPLEMENTATION: adapter.kind}


def evaluate_run(run: str | Path, **kwargs) -> dict:
    """``_evaluate_locked`` holding the run folder's lock (ijae.runlock): one process per run."""
    from ijae import runlock

    with runlock.hold(run, "evaluate"):
        return _evaluate_locked(run, **kwargs)


def _evaluate_locked(run: str | Path, **kwargs) -> dict:
    """Score ``run`` and (``write``) store the flat record as ``run/metrics.json``; returns it.

    Keyword arguments: the settings of ``ijae.metrics.defaults.SETTINGS`` (a value not given,
    or None, falls back to the setting's environment variable, then its default)."""
    from ijae import config, contract, data
    from ijae.metrics import collapse, fidelity, record

    start = time.perf_counter()
    settings = defaults.resolve(kwargs)
    run = Path(run)
    if not run.is_dir():
        raise UserError(f"run folder {run} does not exist")
    cfg = config.load(run / CONFIG)
    backend = get_backend(settings["backend"] or cfg.eval.backend)
    for name in ("batch_size", "is_splits", "is_split_size", "n_samples", "fid_reference_n",
                 "kid_subsets", "kid_subset_size", "prc_neighborhood"):
        if settings[name] is not None and settings[name] < 1:
            raise UserError(f"{name} = {settings[name]}: expected a positive integer")
    samples = contract.load_samples(run / SAMPLES)[:settings["n_samples"]]
    originals, reconstructions = contract.load_reconstructions(run / RECONSTRUCTIONS)
    size = data.image_size(cfg.data)
    for file, images in ((SAMPLES, samples), (RECONSTRUCTIONS, originals)):
        if images.shape[1:3] != (size, size):
            raise ContractError(f"{run / file}: images are {images.shape[1]}x{images.shape[2]}, but "
                                f"the run's {CONFIG} gives {size}x{size} (data.image_size)")
    backend.check(cfg)
    method = method_fields(cfg.model.name)
    timing = contract.read_timing(run)
    device = fidelity.resolve_device(settings["device"])
    # IS at a fixed split size (the splits follow from the samples), unless --is-splits says
    splits = settings["is_splits"] = \
        settings["is_splits"] or fidelity.is_splits(len(samples), settings["is_split_size"])
    fid = settings["fid"]
    # the reference of FID, KID and precision / recall: the train split, or (eval.fid_reference:
    # heldout) the run's held-out split; --no-fid drops all
    heldout = cfg.eval.fid_reference == "heldout"
    split_name = cfg.data.split if heldout else "train"
    if fid:
        ds = data.load_dataset(cfg.data)
        reference = (ds.test if heldout else ds.train)[:settings["fid_reference_n"]]
    else:
        reference = None
    scored, distances = backend.score(Scoring(
        samples=samples, reference=reference, originals=originals,
        reconstructions=reconstructions, cfg=cfg, settings=settings,
        cache=default_cache_dir(settings["cache_dir"]), device=device))

    lead = (K.KEY_METRIC_IS_MEAN, K.KEY_METRIC_IS_STD, K.KEY_METRIC_FID, K.KEY_RECON_METRIC,
            K.KEY_GENERATION_METRIC)
    out = {
        K.KEY_DATASET: cfg.data.dataset, K.KEY_MODEL: cfg.model.name, **method,
        K.KEY_VARIANT: getattr(cfg.model, "variant", None),
        K.KEY_LAMBDA: getattr(cfg.model, "lam", None),
        K.KEY_SEED: cfg.seed, K.KEY_PROFILE: cfg.profile, K.KEY_IMAGE_SIZE: size,
        K.KEY_BACKEND: backend.name,   # a backend may name its IS per dataset (stacked digits)
        K.KEY_GENERATION_METRIC: scored.get(K.KEY_GENERATION_METRIC, backend.generation_metric),
        K.KEY_METRIC_IS_MEAN: scored[K.KEY_METRIC_IS_MEAN],
        K.KEY_METRIC_IS_STD: scored[K.KEY_METRIC_IS_STD], K.KEY_IS_SPLITS: splits,
        K.KEY_IS_STD_OVER: f"{splits} splits of the samples", K.KEY_N_SAMPLES: int(len(samples)),
        K.KEY_IS_SPLIT_SIZE: len(samples) // splits,
        K.KEY_METRIC_FID: scored[K.KEY_METRIC_FID],
        K.KEY_FID_REFERENCE: f"{cfg.data.dataset} {split_name} split" if fid else None,
        K.KEY_FID_REFERENCE_N: int(len(reference)) if fid else None,
        K.KEY_HELDOUT_SPLIT: cfg.data.split,
        K.KEY_RECON_METRIC: scored[K.KEY_RECON_METRIC],
        K.KEY_METRIC_RECON_MEAN: float(np.mean(distances)),
        K.KEY_METRIC_RECON_STD: float(np.std(distances)),
        K.KEY_RECON_STD_OVER: "images", K.KEY_N_RECONSTRUCTIONS: int(len(distances)),
        **{k: v for k, v in scored.items() if k not in lead},
        **collapse.image_measures(samples, originals),
        K.KEY_PRESET: cfg.preset, K.KEY_PRESET_KIND: cfg.preset_kind,
        K.KEY_TRAIN_SECONDS: timing.get("seconds"), K.KEY_TRAIN_CPU_SECONDS: timing.get("cpu_seconds"),
        K.KEY_TRAIN_THREADS: timing.get("threads"), K.KEY_TRAIN_STEP: timing.get("step"),
        # runs trained before timing.json named it: the config's (bf16 was CUDA-only then)
        K.KEY_TRAIN_PRECISION: timing.get("precision") or (
            "bf16 autocast on CUDA, else fp32 (not recorded)" if getattr(cfg.train, "bf16", False)
            else "fp32"),
        K.KEY_CONFIG_HASH: cfg.digest(), K.KEY_RUN: record.portable_path(run),
        **record.provenance(device),
    }
    out.update(collapse.verdict(out))
    for key in record.PATH_KEYS:
        if out.get(key):
            out[key] = record.portable_path(out[key])
    out[K.KEY_WALL_TIME_S] = round(time.perf_counter() - start, 3)
    if settings["write"]:
        record.write(run, out)
    return out
