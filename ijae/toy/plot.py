"""Figure 1's panels for ``ijae toy``: (a)-(c) optimal log-densities of λ-Jeffreys (λ = 0.5)
against reverse KL, forward KL and JSD, (d) the optimal densities, (e) the λ sweep."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from ijae.toy.quadrature import log_model_np, log_target_np  # noqa: E402

COLORS = {"jeffreys": "tab:red", "reverse_kl": "tab:green", "forward_kl": "tab:blue",
          "jsd": "tab:orange"}
LABELS = {"jeffreys": "λ-Jeffreys (λ=0.5)", "reverse_kl": "Reverse KL",
          "forward_kl": "Forward KL", "jsd": "JSD"}
X = np.linspace(-13, 13, 2001)
LOG_FLOOR = -14.0


def figure1(optima: dict):
    """``optima`` maps (divergence, λ or None) to the best θ = (μ1, log σ1², μ2, log σ2²)."""
    sns.set_theme(style="whitegrid", context="paper")
    log_p = log_target_np(X)
    log_q = {key: log_model_np(X, theta) for key, theta in optima.items()}
    jeff = ("jeffreys", 0.5)
    fig = plt.figure(figsize=(15, 7.5), layout="constrained")
    grid = fig.add_gridspec(2, 6)
    axes = [fig.add_subplot(grid[0, 2 * i:2 * i + 2]) for i in range(3)]
    axes += [fig.add_subplot(grid[1, 0:3]), fig.add_subplot(grid[1, 3:6])]

    def target(ax, values):
        ax.plot(X, values, "--", color="black", lw=1.4, label="target p*")

    for ax, other, letter in zip(axes[:3], ("reverse_kl", "forward_kl", "jsd"), "abc"):
        target(ax, log_p)
        for key in (jeff, (other, None)):
            ax.plot(X, log_q[key], color=COLORS[key[0]], lw=1.8, label=LABELS[key[0]])
        ax.set_ylim(LOG_FLOOR, 1.0)
        ax.set_title(f"({letter}) log-density: λ-Jeffreys vs {LABELS[other]}")
        ax.set_xlabel("x")
        ax.legend(loc="lower center", fontsize=8)
    axes[0].set_ylabel("log p(x)")

    ax = axes[3]
    target(ax, np.exp(log_p))
    for name in ("reverse_kl", "forward_kl", "jsd", "jeffreys"):
        key = jeff if name == "jeffreys" else (name, None)
        width = 3.6 if name == "reverse_kl" else 1.8     # reverse KL and JSD often coincide
        ax.plot(X, np.exp(log_q[key]), color=COLORS[name], lw=width, label=LABELS[name])
    ax.set_title("(d) densities")
    ax.set_xlabel("x")
    ax.set_ylabel("p(x)")
    ax.legend(fontsize=8)

    ax = axes[4]
    target(ax, np.exp(log_p))
    sweep = sorted(lam for name, lam in optima if name == "jeffreys")
    palette = sns.color_palette("viridis", len(sweep))
    for lam, color in zip(sweep, palette):
        ax.plot(X, np.exp(log_q[("jeffreys", lam)]), color=color, lw=1.6, label=f"λ = {lam:g}")
    ax.set_title("(e) λ-Jeffreys densities across λ (λ → 1: forward KL, λ → 0: reverse KL)")
    ax.set_xlabel("x")
    ax.legend(fontsize=8)
    return fig


def close(fig) -> None:
    plt.close(fig)
