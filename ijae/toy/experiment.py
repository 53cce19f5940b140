"""``ijae toy``: fit every divergence, pick the best run of each, write the table and Figure 1.

The best of the runs per divergence is picked by a 100,000-sample estimate (float64,
``target.evaluate``) and checked against the same divergence by quadrature in log space
(``quadrature.exact``).
"""
from __future__ import annotations

import io
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from ijae import UserError
from ijae.contract import atomic_write_bytes, atomic_write_text
from ijae.toy.quadrature import exact
from ijae.toy.sgd import INIT_MEAN, INIT_STD, train
from ijae.toy.target import EVAL_SAMPLES, evaluate, groups

DEFAULT_LR = 0.01      # plain SGD; stable for components as narrow as the target's σ = 0.2


class ToyError(UserError, ValueError):
    """A bad argument to ``ijae toy``; the message names the value and what was expected."""


def _check(runs, steps, batch, lr, lambdas, device):
    for name, value, low in (("runs", runs, 1), ("steps", steps, 1), ("batch", batch, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ToyError(f"--{name} {value!r}: expected an integer >= {low}")
    if batch % 2:
        raise ToyError(f"--batch {batch}: expected an even number (batch/2 model samples are "
                       "drawn from each of the two components)")
    if lr is not None and not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ToyError(f"--lr {lr!r}: expected a positive finite learning rate")
    bad = [lam for lam in lambdas if not (isinstance(lam, (int, float)) and 0 < lam < 1)]
    if bad or not lambdas:
        raise ToyError(f"lambdas {tuple(lambdas)!r}: expected one or more values strictly "
                       "between 0 and 1")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ToyError(f"--device {device!r}: expected a torch device such as 'cpu' or 'cuda' "
                       f"({error})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ToyError(f"--device {device!r}: CUDA is not available on this machine; use 'cpu'")
    return dev


def _row(name, lam, theta):
    mu, sd = theta[0::2], np.exp(0.5 * theta[1::2])
    order = np.argsort(mu) if np.isfinite(mu).all() else np.arange(2)
    return {"divergence": name, "lambda": lam, "mu1": mu[order[0]], "sigma1": sd[order[0]],
            "mu2": mu[order[1]], "sigma2": sd[order[1]]}


def fit(lambdas=(0.1, 0.3, 0.5, 0.7, 0.9), *, runs=50, steps=10_000, batch=1000, seed=0,
        lr=None, device="cpu", progress=True) -> dict:
    """Train every divergence (``groups(lambdas)``) and score every run by ``evaluate``.

    Returns ``spec``, ``theta`` [runs, G, 4], ``estimate`` and ``se`` [runs, G] (numpy),
    ``best`` (the run with the lowest finite estimate per divergence), ``lr`` and timings.
    """
    start = time.perf_counter()
    dev = _check(runs, steps, batch, lr, tuple(lambdas), device)
    lr = DEFAULT_LR if lr is None else float(lr)
    spec = groups(sorted({float(lam) for lam in lambdas}))
    theta = train(spec, runs=runs, steps=steps, batch=batch, seed=seed, lr=lr, device=dev,
                  progress=progress)
    train_s = time.perf_counter() - start
    value, se = evaluate(theta, spec, seed=seed)
    theta, value, se = theta.cpu().numpy(), value.cpu().numpy(), se.cpu().numpy()
    best = [int(np.argmin(np.where(np.isfinite(v), v, np.inf))) for v in value.T]
    return {"spec": spec, "theta": theta, "estimate": value, "se": se, "best": best, "lr": lr,
            "device": dev, "train_seconds": train_s,
            "eval_seconds": time.perf_counter() - start - train_s}


def run(out, *, runs=50, steps=10_000, batch=1000, seed=0, lr=None, device="cpu",
        lambdas=(0.1, 0.3, 0.5, 0.7, 0.9)):
    """Figure 1: fit the model to the target under every divergence; write ``optima.csv``,
    ``runs.csv``, ``toy.json``, ``figure1.png`` and ``figure1.pdf`` into ``out``.

    Plain SGD with learning rate ``lr`` (default ``DEFAULT_LR``), no momentum or clipping.
    λ = 0.5 is always included (the paper's panel).  Returns the optima table.
    """
    import pandas as pd

    from ijae.toy import plot

    start = time.perf_counter()
    _check(runs, steps, batch, lr, tuple(lambdas), device)
    lambdas = sorted({float(lam) for lam in lambdas} | {0.5})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    res = fit(lambdas, runs=runs, steps=steps, batch=batch, seed=seed, lr=lr, device=device)
    spec, theta, value, se = res["spec"], res["theta"], res["estimate"], res["se"]

    rows, optima = [], []
    for g, (name, lam) in enumerate(spec):
        best = res["best"][g]
        for r in range(runs):
            rows.append({**_row(name, lam, theta[r, g]), "run": r, "estimate": value[r, g],
                         "estimate_se": se[r, g], "best": r == best})
        optima.append({**_row(name, lam, theta[best, g]), "estimate": value[best, g],
                       "exact": exact(theta[best, g], name, lam), "estimate_se": se[best, g],
                       "run": best, "theta": theta[best, g]})
    order = {"forward_kl": 0, "reverse_kl": 1, "jsd": 2, "jeffreys": 3}
    optima.sort(key=lambda o: (order[o["divergence"]], o["lambda"] or 0))
    table = pd.DataFrame([{k: v for k, v in o.items() if k != "theta"} for o in optima])
    runs_table = pd.DataFrame(rows)

    fig = plot.figure1({(o["divergence"], o["lambda"]): o["theta"] for o in optima})
    for ext in ("png", "pdf"):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=ext, dpi=150, bbox_inches="tight")
        atomic_write_bytes(out / f"figure1.{ext}", buffer.getvalue())
    plot.close(fig)
    atomic_write_text(out / "optima.csv", table.to_csv(index=False, float_format="%.6g"))
    atomic_write_text(out / "runs.csv", runs_table.to_csv(index=False, float_format="%.6g"))
    settings = {
        "runs": runs, "steps": steps, "batch": batch, "seed": seed, "lr": res["lr"],
        "optimizer": "plain SGD (no momentum, no gradient clipping)",
        "lambdas": lambdas, "eval_samples": EVAL_SAMPLES,
        "init": {"mu": f"uniform{INIT_MEAN}", "sigma": f"uniform{INIT_STD}",
                 "parameter": "theta = (mu1, log var1, mu2, log var2)",
                 "shared": "run r of every divergence starts from the same theta"},
        "sampling": "batch/2 model samples per component; target samples allocated to "
                    "components systematically; common random numbers across divergences",
        "diverged_runs": int((~np.isfinite(value)).sum()),
        "train_seconds": round(res["train_seconds"], 2),
        "eval_seconds": round(res["eval_seconds"], 2),
        "wall_seconds": round(time.perf_counter() - start, 2),
        "torch": torch.__version__, "device": str(res["device"]),
        "cpu_threads": ("1 intra-op thread; the target-sample half of each gradient in a "
                        "second Python thread" if res["device"].type == "cpu" else None),
        "dtype": "float32 (training), float64 (evaluation)",
    }
    atomic_write_text(out / "toy.json", json.dumps(settings, indent=2) + "\n")
    return table
