"""Table 1 (markdown, CSV, LaTeX) from the metric records: one block per dataset, a row per
method (mean ± std over seeds where a method has several), the paper's printed values beside
ours in the blocks of the paper's datasets, labelled as the paper's and never merged with ours."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ijae import UserError, work_dir
from ijae import availability as avail
from ijae.contract import atomic_write_text
from ijae.metrics.keys import (KEY_BACKEND, KEY_DATASET, KEY_GENERATION_METRIC,
                               KEY_IMPLEMENTATION, KEY_IS_STD_OVER, KEY_LABEL, KEY_LAMBDA,
                               KEY_METRIC_FID, KEY_METRIC_IS_MEAN, KEY_METRIC_IS_STD,
                               KEY_METRIC_RECON_MEAN, KEY_METRIC_RECON_STD, KEY_MODEL,
                               KEY_N_RECONSTRUCTIONS, KEY_N_SAMPLES, KEY_PROFILE,
                               KEY_RECON_METRIC, KEY_RECON_STD_OVER, KEY_SEED, KEY_VARIANT)
from ijae.metrics.keys import KEY_CLASSIFIER_DATASET, KEY_CLASSIFIER_TEST_ACCURACY
from ijae.metrics.keys import (KEY_METRIC_COVERAGE, KEY_METRIC_MODE_KL_ACCEPTED,
                               KEY_METRIC_MODES_COVERED_ACCEPTED)
from ijae.metrics.keys import (KEY_METRIC_MODE_KL, KEY_METRIC_MODES_COVERED,
                               KEY_METRIC_RECON_CHANNEL_AGREEMENT, KEY_METRIC_RECON_LABEL_AGREEMENT, KEY_MODE_KL_REFERENCE,
                               KEY_MODES_COVERED_RULE, KEY_N_MODES, KEY_ORIGINALS_ACCURACY,
                               KEY_RECON_LABEL_AGREEMENT_CHANCE)
from ijae.report import provenance as prov
from ijae.report.records import (COLLAPSE_NOTE, FID_STD, METHOD, N_COLLAPSED, N_SEEDS, PRESETS,
                                 RUNS, SEED_MEAN_KEYS, SEEDS, our_key, over_seeds, paper_key,
                                 read_metrics)

PAPER_IS, PAPER_LPIPS = "paper_is", "paper_lpips"   # the paper's value beside a row (as parsed)
COLLAPSED_MARK = " ⚠ collapsed"   # beside a row with a collapsed seed


def lambda_notes(metrics: pd.DataFrame, lam: float) -> list[str]:
    """Table 1 shows λ-IJAE at one λ. A dataset whose records hold λ-IJAE only at other λ values
    is an error naming them (a silently missing λ-IJAE row reads as "not run"); a dataset with no
    λ-IJAE record at all gets a note saying λ-IJAE was not run on it."""
    notes = []
    implicit = metrics[(metrics[KEY_MODEL] == "ijae") & (metrics[KEY_VARIANT] == "implicit")]
    for dataset in sorted(set(metrics[KEY_DATASET].astype(str))):
        mine = implicit[implicit[KEY_DATASET].astype(str) == dataset]
        if mine.empty:
            notes.append(f"λ-IJAE was not run on {dataset} (no λ-IJAE record in the metrics table)")
        elif not ((mine[KEY_LAMBDA] - lam).abs() < 1e-9).any():
            present = ", ".join(f"{v:g}" for v in sorted(set(mine[KEY_LAMBDA].dropna())))
            raise UserError(f"no λ-IJAE record at λ = {lam:g} on {dataset}; its records hold "
                            f"λ = {present}: choose one with --lam")
    return notes


def table1(metrics: pd.DataFrame, lam: float = 0.3, work: str | Path | None = None) -> pd.DataFrame:
    """Rows of Table 1: λ-IJAE (implicit) at ``lam`` and every other model, one row per method
    and dataset (over_seeds: mean ± std over seeds when there are several); with ``work`` (a
    work folder), each row's provenance: fresh or cached (ijae/report/provenance.py). λ-IJAE
    run at other λ values only is an error (lambda_notes)."""
    lambda_notes(metrics, lam)
    is_ijae = metrics[KEY_MODEL] == "ijae"
    at_lam = (metrics[KEY_LAMBDA] - lam).abs() < 1e-9
    keep = (is_ijae & (metrics[KEY_VARIANT] == "implicit") & at_lam) | ~is_ijae
    if not keep.any():
        raise UserError(f"no record for λ-IJAE at λ = {lam} nor any baseline in the metrics table")
    kept = metrics[keep] if work is None else prov.with_provenance(metrics[keep], work)
    rows = over_seeds(kept)
    return rows.sort_values([KEY_DATASET, KEY_MODEL, KEY_SEED]).reset_index(drop=True)


def _pm(mean: float, std: float, digits: int = 2) -> str:
    if pd.isna(mean):
        return "—"
    return f"{mean:.{digits}f}" if pd.isna(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def with_paper(block: pd.DataFrame, paper: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``block`` (one dataset) with the paper's IS / LPIPS beside each matching row, and the
    paper's rows of that dataset no row of ours matches."""
    block = block.assign(**{PAPER_IS: "", PAPER_LPIPS: ""})
    if paper is None:
        return block, paper
    theirs = paper[paper["dataset"] == block[KEY_DATASET].iloc[0]]
    by_key = {paper_key(str(m)): r for m, r in zip(theirs["method"], theirs.to_dict("records"))}
    matched = set()
    for i, row in block.iterrows():
        p = by_key.get(our_key(row))
        if p is not None:
            matched.add(paper_key(str(p["method"])))
            block.at[i, PAPER_IS] = _pm(p["is_mean"], p["is_std"])
            block.at[i, PAPER_LPIPS] = _pm(p["lpips_mean"], p["lpips_std"])
    rest = theirs[[paper_key(str(m)) not in matched for m in theirs["method"]]]
    return block, rest


def uncertainty_sentence(block: pd.DataFrame) -> str:
    """What the block's ± are over, in words."""
    many = block[N_SEEDS] > 1
    parts = []
    if many.any():
        parts.append("rows over several seeds (± over column: N seeds) show the mean of the seeds' "
                     "scores ± their standard deviation over seeds")
    if (~many).any():
        first = block[~many].iloc[0]
        parts.append(f"rows of one seed show that run's score, IS ± std over "
                     f"{first[KEY_IS_STD_OVER]}, reconstruction ± std over "
                     f"{first[KEY_RECON_STD_OVER]} of the test split (not over seeds)")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


# digits backend: does the reconstruction keep its digit? (with what chance and a perfect
# reconstruction score, stated above the block)


def has_agreement(block: pd.DataFrame) -> bool:
    return KEY_METRIC_RECON_LABEL_AGREEMENT in block.columns \
        and bool(block[KEY_METRIC_RECON_LABEL_AGREEMENT].notna().any())


def _span(values: pd.Series) -> str:
    low, high = values.min(), values.max()
    return f"{low:.2f}" if round(low, 2) == round(high, 2) else f"{low:.2f}–{high:.2f} across rows"


def has_modes(block: pd.DataFrame) -> bool:
    return KEY_METRIC_MODES_COVERED in block.columns \
        and bool(block[KEY_METRIC_MODES_COVERED].notna().any())


def modes_sentence(block: pd.DataFrame) -> str:
    """The modes columns in words: how many modes, when one counts as covered, KL to what."""
    first = block[block[KEY_METRIC_MODES_COVERED].notna()].iloc[0]
    return (f"Modes: the digits classifier's label of each sample, {int(first[KEY_N_MODES])} "
            f"modes; covered: {first[KEY_MODES_COVERED_RULE]}; mode KL: KL(sample modes ‖ "
            f"{first[KEY_MODE_KL_REFERENCE]}) in nats (means over seeds).")


def is_scale_sentence(block: pd.DataFrame) -> str:
    """What the IS column can reach: a perfect sampler's and the real images' IS at the split
    size ("" for records from before either was recorded)."""
    from ijae.metrics.keys import KEY_IS_CEILING, KEY_IS_REAL, KEY_IS_SPLIT_SIZE

    if KEY_IS_REAL not in block.columns or block[KEY_IS_REAL].isna().all():
        return ""
    first = block[block[KEY_IS_REAL].notna()].iloc[0]
    ceiling = first.get(KEY_IS_CEILING)
    return (f"IS scale: computed at {int(first[KEY_IS_SPLIT_SIZE]):,} samples a split, where the "
            f"real train images score {_span(block[KEY_IS_REAL])}"
            + ("" if ceiling is None or pd.isna(ceiling) else
               f" and a perfect sampler (every known mode equally likely, each read with "
               f"certainty) {ceiling:.4g}") + ": IS at another split size is not comparable.")


def precision_sentence(block: pd.DataFrame) -> str:
    """Which precision trained the block's runs (records name it: train_precision)."""
    from ijae.metrics.keys import KEY_TRAIN_PRECISION

    if KEY_TRAIN_PRECISION not in block.columns or block[KEY_TRAIN_PRECISION].isna().all():
        return ""
    kinds = sorted(set(block[KEY_TRAIN_PRECISION].dropna().astype(str)))
    return f"Training precision: {' and '.join(kinds)}" + (" (every row)." if len(kinds) == 1 else
                                                         " (per row: the records' train_precision).")


def coverage_sentence(block: pd.DataFrame) -> str:
    if KEY_METRIC_COVERAGE not in block.columns or block[KEY_METRIC_COVERAGE].isna().all():
        return ""
    return ("Coverage (Naeem et al. 2020): the share of real train images whose 5-NN ball in the "
            "classifier's features holds a sample; it passes its known-answer controls where "
            "recall does not (calibration.md). Accepted modes: the modes of the samples accepted "
            "as digits (every digit within the 99th percentile of real digits' pixel distance to "
            "the train set), so noise covers none.")


def agreement_sentence(block: pd.DataFrame) -> str:
    """The label-agreement column in words, with its chance and its ceiling."""
    rows = block[block[KEY_METRIC_RECON_LABEL_AGREEMENT].notna()]
    stacked = KEY_METRIC_RECON_CHANNEL_AGREEMENT in rows.columns \
        and rows[KEY_METRIC_RECON_CHANNEL_AGREEMENT].notna().any()
    what = ("test images whose reconstruction keeps all three digits (the classifier, channel by "
            "channel)" if stacked else
            "test digits whose reconstruction the digits classifier labels as the original")
    return (f"Label agreement: the share of {what} (mean over seeds); chance, each original against "
            f"another image's reconstruction: {_span(rows[KEY_RECON_LABEL_AGREEMENT_CHANCE])}; "
            "the classifier's accuracy on the originals, what a perfect reconstruction scores: "
            f"{_span(rows[KEY_ORIGINALS_ACCURACY])}.")


def classifier_sentence(block: pd.DataFrame) -> str:
    """The scoring classifier of a digits-backend block: which dataset it was trained on and its
    accuracy on that dataset's test split ("" for a block without one)."""
    if KEY_CLASSIFIER_TEST_ACCURACY not in block.columns or block[KEY_CLASSIFIER_TEST_ACCURACY].isna().all():
        return ""
    rows = block[block[KEY_CLASSIFIER_TEST_ACCURACY].notna()]
    trained_on = rows[KEY_CLASSIFIER_DATASET].fillna("digits") if KEY_CLASSIFIER_DATASET in rows \
        else pd.Series("digits", index=rows.index)   # records from before the key: digits
    parts = [f"the {base} train split (its accuracy on the {base} test split: "
             f"{_span(rows.loc[trained_on == base, KEY_CLASSIFIER_TEST_ACCURACY])})"
             for base in sorted(set(trained_on))]
    return (f"Scoring classifier: the digits CNN (ijae/metrics/digits.py) trained on "
            f"{' and '.join(parts)}.")


def table1_markdown(rows: pd.DataFrame, paper: pd.DataFrame | None, profile: str,
                    notes: list[str] = (), title: str = "Table 1") -> str:
    lines = [f"# {title} — {profile} profile", ""]
    shown = prov.PROVENANCE in rows.columns    # the source column: fresh / cached
    for (dataset, backend), block in rows.groupby([KEY_DATASET, KEY_BACKEND], sort=True):
        block, paper_only = with_paper(block, paper)
        first = block.iloc[0]
        # the paper's columns only in a block of a dataset the paper has
        side = paper_only is not None and ((block[PAPER_IS] != "").any() or not paper_only.empty)
        lines += [f"## {dataset}", "",
                  f"Generation: {first[KEY_GENERATION_METRIC]}. Reconstruction: "
                  f"`{first[KEY_RECON_METRIC]}`. FID against the {dataset} train split. "
                  + uncertainty_sentence(block)
                  + (" " + prov.LEGEND if shown else ""), ""]
        agree, modes = has_agreement(block), has_modes(block)
        if agree:
            lines[-1:-1] = ["", agreement_sentence(block)]
        if modes:
            lines[-1:-1] = ["", modes_sentence(block)]
        for sentence in (classifier_sentence(block), is_scale_sentence(block),
                         coverage_sentence(block), precision_sentence(block)):
            if sentence:
                lines[-1:-1] = ["", sentence]
        cover = bool(coverage_sentence(block))
        head = ("| method | implementation | dataset | IS ↑ | FID ↓ | reconstruction ↓ | "
                + ("label agreement ↑ | " if agree else "")
                + ("coverage ↑ | " if cover else "")
                + ("modes covered ↑ (accepted) | mode KL ↓ (accepted) | " if modes and cover else
                   "modes covered ↑ | mode KL ↓ | " if modes else "")
                + "metric | samples | reconstructions | seeds | ± over | preset |"
                + (" source |" if shown else ""))
        lines += [head + (" paper IS ↑ | paper LPIPS ↓ |" if side else ""),
                  "|" + " --- |" * (12 + agree + cover + 2 * modes + shown + 2 * side)]
        for _, r in block.iterrows():
            fid = "—" if pd.isna(r[KEY_METRIC_FID]) else _pm(r[KEY_METRIC_FID], r[FID_STD])
            agreement = (_pm(r[KEY_METRIC_RECON_LABEL_AGREEMENT], float("nan"), 3) + " | ") \
                if agree else ""
            if cover:
                agreement += _pm(r[KEY_METRIC_COVERAGE], float("nan"), 3) + " | "
            if modes and cover:
                agreement += (f"{r[KEY_METRIC_MODES_COVERED]:.4g} ({r[KEY_METRIC_MODES_COVERED_ACCEPTED]:.4g}) "
                              f"/ {int(r[KEY_N_MODES])} | {_pm(r[KEY_METRIC_MODE_KL], float('nan'), 3)} "
                              f"({_pm(r[KEY_METRIC_MODE_KL_ACCEPTED], float('nan'), 3)}) | ")
            elif modes:
                agreement += (f"{r[KEY_METRIC_MODES_COVERED]:.4g} / {int(r[KEY_N_MODES])} | "
                              f"{_pm(r[KEY_METRIC_MODE_KL], float('nan'), 3)} | ")
            line = (f"| {r[METHOD]}{COLLAPSED_MARK if r[N_COLLAPSED] else ''} | "
                    f"{r[KEY_IMPLEMENTATION]} | {dataset} | "
                    f"{_pm(r[KEY_METRIC_IS_MEAN], r[KEY_METRIC_IS_STD])} | {fid} | "
                    f"{_pm(r[KEY_METRIC_RECON_MEAN], r[KEY_METRIC_RECON_STD], 3)} | {agreement}"
                    f"{r[KEY_RECON_METRIC]} ({backend}) | {int(r[KEY_N_SAMPLES])} | "
                    f"{int(r[KEY_N_RECONSTRUCTIONS])} | {r[SEEDS]} | {r[KEY_IS_STD_OVER]} | "
                    f"{r[PRESETS] or 'hand'} |"
                    + (f" {r[prov.PROVENANCE]} |" if shown else ""))
            lines.append(line + (f" {r[PAPER_IS]} | {r[PAPER_LPIPS]} |" if side else ""))
        for _, p in (paper_only if side else pd.DataFrame()).iterrows():
            lines.append(f"| {p['method']} (paper only; not run here) |"
                         + " — |" * (11 + agree + cover + 2 * modes + shown)
                         + f" {_pm(p['is_mean'], p['is_std'])} | {_pm(p['lpips_mean'], p['lpips_std'])} |")
        collapsed = block[block[N_COLLAPSED] > 0]
        if not collapsed.empty:
            lines += ["", f"{COLLAPSED_MARK.strip()}: the samples are degenerate "
                      "(ijae/metrics/collapse.py); the row is shown, not ranked: "
                      + "; ".join(f"{r[METHOD]} {r[COLLAPSE_NOTE]}" for _, r in collapsed.iterrows())]
        lines.append("")
    lines += [f"- {note}" for note in notes] + ([""] if notes else [])
    if paper is not None:   # columns of inputs/paper_table1.csv, the paper's printed numbers
        lines += ["## The paper's Table 1, as printed (for reference; not produced here)", "",
                  "Inception Score (TF 1.13 reference code) and LPIPS (v0.1, AlexNet) on CIFAR-10 "
                  "and TinyImageNet; the paper does not say what its ± is over.", "",
                  "| dataset | method | IS ↑ | LPIPS ↓ | printed | note |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for _, r in paper.iterrows():
            note = "" if pd.isna(r["note"]) else r["note"]
            lines.append(f"| {r['dataset']} | {r['method']} | {_pm(r['is_mean'], r['is_std'])} | "
                         f"{_pm(r['lpips_mean'], r['lpips_std'])} | {r['printed']} | {note} |")
        lines.append("")
    return "\n".join(lines)


TABLE1_COLUMNS = (METHOD, KEY_IMPLEMENTATION, KEY_MODEL, KEY_VARIANT, KEY_LAMBDA, SEEDS, N_SEEDS,
                  KEY_DATASET, KEY_BACKEND, KEY_METRIC_IS_MEAN, KEY_METRIC_IS_STD,
                  KEY_IS_STD_OVER, KEY_N_SAMPLES, KEY_METRIC_FID, FID_STD, KEY_RECON_METRIC,
                  KEY_METRIC_RECON_MEAN, KEY_METRIC_RECON_STD, KEY_RECON_STD_OVER,
                  KEY_N_RECONSTRUCTIONS, RUNS, PRESETS, N_COLLAPSED, COLLAPSE_NOTE, prov.PROVENANCE)


def availability_notes(records: list[dict], rows: pd.DataFrame) -> list[str]:
    """A line for each model of ``ijae checkout``'s records that could not run here or has no
    row, saying what the table holds of it: its rows cached (or fresh) though its code cannot
    run here, or "not run" and why. A model with a row is never called "not run"."""
    notes = []
    for r in records:
        name, reason = f"{r[avail.LABEL]} ({r[avail.MODEL]})", r[avail.REASON]
        mine = rows[rows[KEY_MODEL] == r[avail.MODEL]]
        kinds = set(mine[prov.PROVENANCE]) if prov.PROVENANCE in mine.columns else set()
        if mine.empty:
            notes.append(f"{name} not run: " + ("no metric record" if r[avail.AVAILABLE]
                                                 else f"its code cannot run here ({reason})"))
        elif r[avail.AVAILABLE]:
            continue
        elif kinds == {prov.CACHED}:
            notes.append(f"{name}: cached row; its code cannot run here ({reason})")
        else:   # a run in this work folder, from when its code could run (or unchecked)
            shown = "; ".join(sorted(set(mine[prov.PROVENANCE]))) if kinds else "row"
            notes.append(f"{name}: {shown} row; its code cannot run here now ({reason})")
    return notes


def write_table1(metrics_csv: str | Path, out_dir: str | Path, paper_csv: str | Path | None = None,
                 lam: float = 0.3, profile: str | None = None, notes: list[str] = (),
                 availability: str | Path | None = None,
                 work: str | Path | None = None, name: str = "table1") -> pd.DataFrame:
    """``name``.csv, .md and .tex (default table1.*) in ``out_dir`` from a metrics table;
    ``availability``: the record of ``ijae checkout``, whose unavailable models are named under
    the table; ``work``: the work folder whose runs make a row fresh (default: ijae.work_dir())."""
    from ijae.report.latex import table1_latex

    out = Path(out_dir)
    metrics = read_metrics(metrics_csv)
    rows = table1(metrics, lam, work=work_dir() if work is None else work)
    notes = [*lambda_notes(metrics, lam), *notes]
    if availability is not None:
        notes = [*availability_notes(avail.read(availability), rows), *notes]
    paper = pd.read_csv(paper_csv) if paper_csv else None
    profile = profile or ", ".join(sorted(set(rows.get(KEY_PROFILE, pd.Series(["?"])).astype(str))))
    columns = [*TABLE1_COLUMNS, *(c for c in SEED_MEAN_KEYS if c in rows.columns)]
    atomic_write_text(out / f"{name}.csv", rows[columns].to_csv(index=False))
    atomic_write_text(out / f"{name}.md", table1_markdown(rows, paper, profile, list(notes)))
    atomic_write_text(out / f"{name}.tex", table1_latex(rows, paper, profile))
    return rows
