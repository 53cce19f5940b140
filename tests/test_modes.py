"""`ijae modes`: precision, recall, modes covered and mode KL against λ from the records alone."""
from __future__ import annotations

import pandas as pd
import pytest

from ijae import UserError, cli
from ijae.report import modes


def records() -> pd.DataFrame:
    """Two datasets; λ-IJAE and -L1 at three λ over two seeds (recall rising, precision falling
    with λ for the implicit model, modes covered rising and the mode KL falling), a baseline;
    modes only on digits."""
    rows = []
    for dataset, backend in (("digits", "digits"), ("cifar10", "inception")):
        for variant in ("implicit", "l1"):
            for lam in (0.1, 0.5, 0.9):
                for seed in (0, 1):
                    rise = lam if variant == "implicit" else 0.5
                    rows.append({"dataset": dataset, "backend": backend, "model": "ijae",
                                 "variant": variant, "lambda": lam, "seed": seed,
                                 "label": "λ-IJAE", "implementation": "native",
                                 "precision": 1 - rise / 2 + seed * 0.02, "recall": rise / 2 + 0.3,
                                 "prc_neighborhood": 3,
                                 "modes_covered": 6 + round(4 * rise) if dataset == "digits"
                                 else None, "n_modes": 10 if dataset == "digits" else None,
                                 "mode_kl": 1 - rise if dataset == "digits" else None})
        rows.append({"dataset": dataset, "backend": backend, "model": "age", "variant": None,
                     "lambda": None, "seed": 0, "label": "AGE", "implementation": "upstream",
                     "precision": 0.7, "recall": 0.4, "prc_neighborhood": 3,
                     "modes_covered": 9 if dataset == "digits" else None,
                     "n_modes": 10 if dataset == "digits" else None,
                     "mode_kl": 0.2 if dataset == "digits" else None})
    return pd.DataFrame(rows)


def test_points_average_seeds_and_keep_baselines_as_single_values():
    table = modes.points(records())
    one = table[(table.dataset == "digits") & (table.method == "λ-IJAE") & (table["lambda"] == 0.1)
                & (table.measure == "precision")].iloc[0]
    assert one["mean"] == pytest.approx(1 - 0.05 + 0.01) and one["n_seeds"] == 2
    assert one["std"] == pytest.approx(pd.Series([0.95, 0.97]).std())
    age = table[table.method == "AGE"]
    assert age["lambda"].isna().all() and set(age["dataset"]) == {"digits", "cifar10"}
    coverage = table[table.measure == modes.COVERAGE]
    assert set(coverage["dataset"]) == {"digits"}                     # only digits has it
    top = coverage[(coverage.method == "λ-IJAE") & (coverage["lambda"] == 0.9)]["mean"].iloc[0]
    assert top == pytest.approx(1.0)                                  # 10 of 10 classes
    kl = table[table.measure == "mode_kl"]
    assert set(kl["dataset"]) == {"digits"}
    assert modes.trend(table, "digits", "λ-IJAE", "mode_kl") == pytest.approx(-1.0)


def test_trend_reads_the_direction_of_each_measure():
    table = modes.points(records())
    assert modes.trend(table, "digits", "λ-IJAE", "recall") == pytest.approx(1.0)
    assert modes.trend(table, "digits", "λ-IJAE", "precision") == pytest.approx(-1.0)
    assert modes.trend(table, "digits", "λ-IJAE-L1", "recall") is None    # flat: no trend
    assert modes.trend(table, "digits", "AGE", "recall") is None           # no λ
    text = "\n".join(modes.trend_sentences(table))
    assert "digits, λ-IJAE: precision falls with λ (ρ = -1.00); recall rises with λ" in text


def test_cli_writes_png_pdf_and_the_plotted_points(tmp_path, capsys):
    csv = tmp_path / "metrics.csv"
    records().to_csv(csv, index=False)
    assert cli.main(["modes", str(csv), "--out", str(tmp_path / "fig")]) == 0
    for name in ("modes.png", "modes.pdf", "modes.csv"):
        assert (tmp_path / "fig" / name).stat().st_size > 1000 or name == "modes.csv"
    written = pd.read_csv(tmp_path / "fig" / "modes.csv")
    assert len(written) == len(modes.points(records()))
    assert "recall rises with λ" in capsys.readouterr().err


def test_records_without_precision_are_refused_with_what_to_do(tmp_path, capsys):
    csv = tmp_path / "old.csv"
    records().drop(columns=["precision", "recall"]).to_csv(csv, index=False)
    with pytest.raises(UserError, match="run `ijae evaluate`"):
        modes.read(csv)
    assert cli.main(["modes", str(csv), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "missing column(s) ['precision', 'recall']" in err and err.count("\n") == 1
