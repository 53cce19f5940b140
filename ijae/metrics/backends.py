"""Metric backends by name: how a run's samples and reconstructions become numbers.

A backend scores the generation side (IS over splits of the samples, FID against the train
split) and the reconstruction side (a distance per test image). Every built-in is registered at
the bottom of this file; another one is added with :func:`register_backend`. Backends import
their heavy libraries (torch-fidelity, lpips) only when they score.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ijae import UserError
from ijae.metrics import keys as K
from ijae.metrics.keys import KEY_RECON_METRIC


@dataclass(frozen=True)
class Scoring:
    """What a backend scores: the run's images, its config, and the evaluation settings."""
    samples: np.ndarray
    reference: np.ndarray | None          # the train split for FID; None: no FID
    originals: np.ndarray
    reconstructions: np.ndarray
    cfg: object                           # the run's resolved ijae.config.Config
    settings: dict                        # ijae.metrics.defaults, resolved
    cache: object                         # the cache folder (pathlib.Path)
    device: str


@dataclass(frozen=True)
class Backend:
    name: str
    generation_metric: str                # what its IS measures, in every record (unless the
                                          # score names it per dataset: stacked digits)
    score: Callable[[Scoring], tuple[dict, np.ndarray]]  # -> (record fields, distances [M])
    check: Callable[[object], None] = lambda cfg: None   # refuses a run config, before any work


BACKENDS: dict[str, Backend] = {}


def register_backend(backend: Backend) -> Backend:
    if backend.name in BACKENDS:
        raise ValueError(f"metric backend {backend.name!r} is already registered")
    BACKENDS[backend.name] = backend
    return backend


def get_backend(name: str) -> Backend:
    if name not in BACKENDS:
        raise UserError(f"backend {name!r}: expected one of {tuple(BACKENDS)}")
    return BACKENDS[name]


# ---------------------------------------------------------------------------------------------
# the built-ins

def _score_inception(job: Scoring) -> tuple[dict, np.ndarray]:
    from ijae import data
    from ijae.metrics import inception, lpips_distance

    net, version = job.settings["lpips_net"], job.settings["lpips_version"]
    weights = job.settings["lpips_weights"]
    lpips_distance.check_size(job.originals.shape, net)  # fail before the long part
    model = lpips_distance.build(net, version, weights)
    size = data.image_size(job.cfg.data)
    fields = inception.generation_metrics(
        job.samples, job.reference, reference_name=f"ijae-{job.cfg.data.dataset}-{size}px-train",
        weights=job.settings["inception_weights"], verbose=job.settings["verbose"],
        splits=job.settings["is_splits"], device=job.device,
        batch_size=job.settings["batch_size"], cache_dir=job.cache, **_reference_options(job),
        **_calibration_options(job, n_modes=None))
    distances = lpips_distance.distances(job.originals, job.reconstructions, net=net,
                                         device=job.device, batch_size=job.settings["batch_size"],
                                         model=model)
    fields[KEY_RECON_METRIC] = lpips_distance.metric_name(net, version, weights)
    fields["lpips_trunk_weights"] = str(weights) if weights else \
        f"torchvision {lpips_distance.trunk_weights(net).url.rsplit('/', 1)[-1]}"
    return fields, distances


def _score_digits(job: Scoring) -> tuple[dict, np.ndarray]:
    """digits / mnist: the classifier (trained on that dataset) on each image, its 10 classes
    the modes; stacked_digits / stacked_mnist: the same classifier on each channel (stacked.py),
    the 1,000 triples the modes."""
    from ijae import data
    from ijae import datasets
    from ijae.metrics import accept, collapse, digits, labels, stacked

    dataset = job.cfg.data.dataset
    spec = datasets.get(dataset)
    is_stacked = spec.stacked
    base = spec.classifier                        # the classifier's dataset: digits or mnist
    reader = stacked if is_stacked else digits    # the same functions, per image or per channel
    batch_size = job.settings["batch_size"]
    n_modes = stacked.N_MODES if is_stacked else digits.N_CLASSES
    fields = reader.generation_metrics(
        job.samples, job.reference, verbose=job.settings["verbose"],
        splits=job.settings["is_splits"], device=job.device, batch_size=batch_size,
        cache_dir=job.cache, base=base, **_reference_options(job),
        **_calibration_options(job, n_modes))
    distances = reader.feature_distances(job.originals, job.reconstructions, cache_dir=job.cache,
                                         device=job.device, batch_size=max(batch_size, 256),
                                         base=base)
    fields[KEY_RECON_METRIC] = reader.recon_metric(base)
    if is_stacked:   # IS over the 1,000 modes, on the classifier of its digits
        fields[K.KEY_GENERATION_METRIC] = stacked.generation_metric(base)
    elif base != "digits":   # the backend's own name says digits: say which classifier scored
        fields[K.KEY_GENERATION_METRIC] = \
            "MNIST-classifier score (IS formula on the digits CNN trained on MNIST; not Inception)"
    size = int(job.samples.shape[1])
    net = digits.load_classifier(digits.classifier_path(size, job.cache, base))[0]
    sample_modes = reader.predicted_labels(job.samples, net)
    fields.update(collapse.top_modes_share(sample_modes, n_modes))
    if is_stacked:   # the protocol: a mode is covered by one sample; KL against uniform
        mode_reference, min_share = np.full(n_modes, 1 / n_modes), 0.0
        reference_name = "uniform over the 1,000 modes"
    else:
        mode_reference = labels.histogram(data.load_dataset(job.cfg.data).test_labels, n_modes)
        min_share, reference_name = labels.COVERAGE_THRESHOLD, f"{dataset} test split labels"
        fields.update(labels.class_fractions(sample_modes, n_modes))
    fields.update(labels.mode_coverage(sample_modes, mode_reference, min_share=min_share,
                                       reference_name=reference_name))
    # the same over the samples accepted as digits (noise covers no mode), and the repeats
    fields.update(accept.accepted_fields(job.samples, sample_modes, base, is_stacked,
                                         mode_reference, min_share))
    # the originals' own labels when they come from the dataset (export writes the test split's
    # first images), else the classifier's: then a perfect reconstruction scores exactly 1
    original_labels = reader.predicted_labels(job.originals, net)
    truth = reader.true_labels(job.originals, size, base)
    reference = original_labels if truth is None else truth
    reconstruction_labels = reader.predicted_labels(job.reconstructions, net)
    fields.update(labels.label_agreement(reference, original_labels, reconstruction_labels))
    fields[K.KEY_RECON_LABEL_REFERENCE] = "classifier labels of the originals" \
        if truth is None else f"{job.cfg.data.dataset} dataset labels"
    width = 3 if is_stacked else 1   # a mode's digits, e.g. 007
    for key, found in ((K.KEY_LABELS_OF_SAMPLES, sample_modes),
                       (K.KEY_LABELS_OF_RECONSTRUCTIONS, reconstruction_labels),
                       (K.KEY_LABELS_OF_ORIGINALS, reference)):
        fields[key] = " ".join(f"{int(v):0{width}d}" for v in found[:K.N_LABELLED])
    if is_stacked:   # all three digits right above; each channel's digit here
        kept = stacked.channel_agreement(reference, reconstruction_labels)
        fields[K.KEY_METRIC_RECON_CHANNEL_AGREEMENT] = float(kept.mean())
        fields[K.KEY_RECON_CHANNEL_AGREEMENT_CHANCE] = float(stacked.channel_agreement(
            reference, reconstruction_labels, seed=labels.CHANCE_SEED).mean())
        fields.update({f"{K.CHANNEL_AGREEMENT_PREFIX}{c}": float(v) for c, v in zip("rgb", kept)})
    return fields, distances


def _calibration_options(job: Scoring, n_modes: int | None) -> dict:
    """What puts an IS beside its ceiling and the real images' (at the split size), and the
    held-out images of the data-copying test."""
    return {"split_size": len(job.samples) // job.settings["is_splits"], "n_modes": n_modes,
            "heldout": job.originals}


def _reference_options(job: Scoring) -> dict:
    """FID / KID / precision-recall settings, as the backends' generation_metrics take them."""
    from ijae.metrics.fidelity import REFERENCE_OPTIONS

    return {name: job.settings[name] for name in REFERENCE_OPTIONS}


def _digits_only(cfg) -> None:
    from ijae import datasets

    scored = datasets.digits_backend_datasets()
    if cfg.data.dataset not in scored:
        raise UserError(f"the digits backend scores {', '.join(scored[:-1])} and {scored[-1]} runs "
                        f"(a dataset with a classifier, ijae/datasets.py); this run's dataset is "
                        f"{cfg.data.dataset}: use --backend inception")


register_backend(Backend("inception", "Inception Score (torch-fidelity inception-v3-compat)",
                         _score_inception))
register_backend(Backend("digits",
                         "digits-classifier score (IS formula on a digits CNN; not Inception)",
                         _score_digits, _digits_only))
