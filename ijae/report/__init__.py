"""Tables and figures of the paper as pure functions of the metric records (metrics.csv) and,
for the sample grids, of the runs' exported images.

Nothing here reads a checkpoint, imports a model or the model registry, or imports torch: a
table row is a metrics.json record, which names its method (``label``), how it is implemented
(``implementation``), which backend scored it and over how many samples. The paper's printed
Table 1 sits beside ours, labelled as the paper's, never merged with our numbers.

    records   reading metrics.csv, method labels, one point per method over seeds
    tables    Table 1 as markdown and CSV (latex: as LaTeX)
    provenance  a row's provenance: fresh (its run is in this work folder) or cached
    pareto    the Pareto claim, computed (fronts, dominance, hypervolume)
    figures   Figures 2 and 3; samples: Appendix C's grids; plotting: what figures share
"""
from ijae.report.pareto import write_pareto
from ijae.report.records import METHOD, method_label, over_seeds, read_metrics
from ijae.report.tables import (TABLE1_COLUMNS, availability_notes, table1, table1_markdown,
                                write_table1)

__all__ = ["METHOD", "TABLE1_COLUMNS", "availability_notes", "method_label", "over_seeds",
           "read_metrics", "table1", "table1_markdown", "write_pareto", "write_table1",
           "write_figures"]


def write_figures(metrics_csv, out_dir) -> tuple[list, "pd.DataFrame"]:
    """figure2 and figure3 (PNG and PDF) and the Pareto CSVs in ``out_dir``, from one
    metrics.csv (every run: the λ grid, its ablations and the baselines); returns the PNGs and
    the Pareto verdicts."""
    from pathlib import Path

    from ijae.report import figures

    metrics, out = read_metrics(metrics_csv), Path(out_dir)
    _, verdicts = write_pareto(metrics, out)
    return ([figures.figure2(metrics, out / "figure2.png"), figures.figure3(metrics, out / "figure3.png")],
            verdicts)
