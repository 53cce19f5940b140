"""Metrics from the artifact contract: IS / FID (torch-fidelity), LPIPS (lpips), a digits backend.

Every model is scored by the same code from samples.npz and reconstructions.npz; nothing here
imports a model. Heavy libraries (torch-fidelity, lpips) are imported inside the functions.

- :func:`evaluate_run` scores one run folder into ``RUN/metrics.json`` (``ijae evaluate``);
- :func:`collect` concatenates records into one table (``ijae collect``).
"""
from ijae.metrics.evaluate import evaluate_run
from ijae.metrics.record import collect

__all__ = ["evaluate_run", "collect"]
