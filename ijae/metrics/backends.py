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
    generation_metric: str                # what its IS measures, written into every record
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
        batch_size=job.settings["batch_size"], cache_dir=job.cache, **_reference_options(job))
    distances = lpips_distance.distances(job.originals, job.reconstructions, net=net,
                                         device=job.device, batch_size=job.settings["batch_size"],
                                         model=model)
    fields[KEY_RECON_METRIC] = lpips_distance.metric_name(net, version, weights)
    fields["lpips_trunk_weights"] = str(weights) if weights else \
        f"torchvision {lpips_distance.trunk_weights(net).url.rsplit('/', 1)[-1]}"
    return fields, distances


def _score_digits(job: Scoring) -> tuple[dict, np.ndarray]:
    from ijae import data
    from ijae.metrics import digits, labels

    batch_size = job.settings["batch_size"]
    fields = digits.generation_metrics(
        job.samples, job.reference, verbose=job.settings["verbose"],
        splits=job.settings["is_splits"], device=job.device, batch_size=batch_size,
        cache_dir=job.cache, **_reference_options(job))
    distances = digits.feature_distances(job.originals, job.reconstructions, cache_dir=job.cache,
                                         device=job.device, batch_size=max(batch_size, 256))
    fields[KEY_RECON_METRIC] = digits.RECON_METRIC
    size = int(job.samples.shape[1])
    net = digits.load_classifier(digits.classifier_path(size, job.cache))[0]
    test_labels = data.load_dataset(job.cfg.data).test_labels
    fields.update(labels.class_coverage(digits.predicted_labels(job.samples, net), test_labels,
                                        n_classes=digits.N_CLASSES))
    fields[K.KEY_CLASS_KL_REFERENCE] = "digits test split labels"
    # the originals' own labels when they come from the dataset (export writes the test split's
    # first images), else the classifier's: then a perfect reconstruction scores exactly 1
    original_labels = digits.predicted_labels(job.originals, net)
    truth = digits.true_labels(job.originals, size)
    fields.update(labels.label_agreement(
        original_labels if truth is None else truth, original_labels,
        digits.predicted_labels(job.reconstructions, net)))
    fields[K.KEY_RECON_LABEL_REFERENCE] = "classifier labels of the originals" \
        if truth is None else "digits dataset labels"
    return fields, distances


def _reference_options(job: Scoring) -> dict:
    """FID / KID / precision-recall settings, as the backends' generation_metrics take them."""
    from ijae.metrics.fidelity import REFERENCE_OPTIONS

    return {name: job.settings[name] for name in REFERENCE_OPTIONS}


def _digits_only(cfg) -> None:
    if cfg.data.dataset != "digits":
        raise UserError(f"the digits backend scores digits runs; this run's dataset is "
                        f"{cfg.data.dataset}: use --backend inception")


register_backend(Backend("inception", "Inception Score (torch-fidelity inception-v3-compat)",
                         _score_inception))
register_backend(Backend("digits",
                         "digits-classifier score (IS formula on a digits CNN; not Inception)",
                         _score_digits, _digits_only))
