"""The statistics every verdict uses, in one place: intervals, tests, power, multiplicity and
equivalence over independent per-seed values. scipy and statsmodels do the work.

- :func:`t_interval`: the Student-t interval of a mean over seeds;
- :func:`p_value`: the two-sided one-sample t test of "mean = 0";
- :func:`tost_p`: two one-sided tests of "|mean| ≥ δ" (Schuirmann 1987): small when the effect is
  within ±δ (equivalently, the 1 - 2α interval lies inside ±δ);
- :func:`adjust`: Holm's step-down correction over a family of p-values (family-wise error);
- :func:`seeds_for_power`: the seeds a new experiment needs for 80 % power at the observed
  effect, with a range from the standard deviation's own confidence interval (three seeds
  estimate it to within a factor of about 0.5 to 6).
"""
from __future__ import annotations

import numpy as np

POWER = 0.8                 # the power "seeds to decide" plans for
MAX_SEEDS = 10_000          # beyond this: "> 10000" (an effect indistinguishable from 0)
CORRECTION = "holm"         # statsmodels' name of the multiplicity correction


def _clean(values) -> np.ndarray:
    values = np.asarray(values, float)
    return values[np.isfinite(values)]


def t_interval(values, confidence: float) -> tuple[float, float, float]:
    """(mean, low, high): the Student-t interval of the mean of independent ``values``; NaN
    bounds with fewer than 2 (and all three with none)."""
    from scipy import stats

    values = _clean(values)
    mean = float(values.mean()) if len(values) else float("nan")
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    sem = values.std(ddof=1) / np.sqrt(len(values))
    if sem == 0:
        return mean, mean, mean
    low, high = stats.t.interval(confidence, len(values) - 1, loc=mean, scale=sem)
    return mean, float(low), float(high)


def p_value(values) -> float:
    """Two-sided p of the one-sample t test of mean 0 (NaN with fewer than 2 values; 0 or 1 when
    the values do not vary)."""
    from scipy import stats

    values = _clean(values)
    if len(values) < 2:
        return float("nan")
    if values.std(ddof=1) == 0:
        return 0.0 if values.mean() != 0 else 1.0
    return float(stats.ttest_1samp(values, 0.0).pvalue)


def tost_p(values, delta: float) -> float:
    """p of the two one-sided t tests that the mean lies within (-delta, +delta): the larger of
    the two one-sided p-values (NaN with fewer than 2 values or no delta)."""
    from scipy import stats

    values = _clean(values)
    if len(values) < 2 or not delta or not np.isfinite(delta) or delta <= 0:
        return float("nan")
    if values.std(ddof=1) == 0:
        return 0.0 if abs(values.mean()) < delta else 1.0
    below = stats.ttest_1samp(values, delta, alternative="less").pvalue      # mean < +delta
    above = stats.ttest_1samp(values, -delta, alternative="greater").pvalue  # mean > -delta
    return float(max(below, above))


def adjust(p_values, alpha: float) -> np.ndarray:
    """Holm-adjusted p-values of a family (NaN entries stay NaN and do not count)."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, float)
    out = np.full(p.shape, np.nan)
    known = np.isfinite(p)
    if known.any():
        out[known] = multipletests(p[known], alpha=alpha, method=CORRECTION)[1]
    return out


def power(effect_size: float, n, alpha: float):
    """The power of the two-sided one-sample t test at level ``alpha`` with ``n`` seeds when the
    mean is ``effect_size`` standard deviations from 0 (the noncentral t distribution)."""
    from scipy import stats

    n = np.asarray(n, float)
    crit = stats.t.ppf(1 - alpha / 2, n - 1)
    shift = abs(effect_size) * np.sqrt(n)
    # scipy's noncentral t returns NaN far in its tails: the upper tail from the other side,
    # the lower one (the wrong sign, smaller than the upper) as 0
    upper = stats.nct.sf(crit, n - 1, shift)
    upper = np.where(np.isnan(upper), 1 - stats.nct.cdf(crit, n - 1, shift), upper)
    lower = np.nan_to_num(stats.nct.cdf(-crit, n - 1, shift))
    return upper + lower


def _seeds(effect_size: float, alpha: float) -> int | None:
    """The fewest seeds (≥ 2) with POWER at a standardised effect (mean / sd); None beyond
    MAX_SEEDS."""
    if effect_size == 0:
        return None
    n = np.arange(2, MAX_SEEDS + 1)
    enough = power(effect_size, n, alpha) >= POWER
    return int(n[enough][0]) if enough.any() else None


def seeds_for_power(values, alpha: float) -> tuple[object, object, object]:
    """(seeds, low, high): the seeds for 80 % power at the observed mean and standard deviation
    of the per-seed ``values``, and at the ends of the standard deviation's 1 - alpha interval
    (chi-square); "> 10000" where the effect is too small to plan for, None with fewer than 2
    values."""
    from scipy import stats

    values = _clean(values)
    if len(values) < 2:
        return None, None, None
    mean, sd, k = abs(values.mean()), values.std(ddof=1), len(values) - 1
    if sd == 0:
        return (2, 2, 2) if mean > 0 else (f"> {MAX_SEEDS}",) * 3
    sd_low = sd * np.sqrt(k / stats.chi2.ppf(1 - alpha / 2, k))
    sd_high = sd * np.sqrt(k / stats.chi2.ppf(alpha / 2, k))

    def plan(s):
        n = _seeds(mean / s, alpha)
        return f"> {MAX_SEEDS}" if n is None or n > MAX_SEEDS else n

    return plan(sd), plan(sd_low), plan(sd_high)
