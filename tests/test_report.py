"""Table 1 and the Pareto plot from metric records alone."""
import pandas as pd
import pytest

from ijae import UserError, report
from ijae.cli import main
from conftest import REPO


def record(model="ijae", variant="implicit", lam=0.3, is_mean=5.0, recon=0.1, seed=0):
    return {"model": model, "variant": variant, "lambda": lam, "seed": seed, "dataset": "digits",
            "profile": "default", "backend": "digits", "is_mean": is_mean, "is_std": 0.1,
            "is_std_over": "10 splits of the samples", "n_samples": 2000, "fid": 12.5,
            "recon_metric": "digits-feature-distance", "recon_mean": recon, "recon_std": 0.01,
            "recon_std_over": "images", "n_reconstructions": 359}


@pytest.fixture
def metrics_csv(tmp_path):
    rows = [record(lam=lam, is_mean=9 - 5 * lam, recon=0.3 - 0.25 * lam) for lam in (0.1, 0.3, 0.9)]
    rows += [record(variant="l1", lam=lam, is_mean=4 - lam, recon=0.2) for lam in (0.1, 0.3)]
    rows += [record(model="ijae", lam=0.3, seed=1, is_mean=7.4)]
    path = tmp_path / "metrics.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_table1_keeps_the_lambda_row_and_says_backend_and_counts(metrics_csv, tmp_path):
    out = tmp_path / "tables"
    assert main(["table1", str(metrics_csv), "--out", str(out), "--paper",
                 str(REPO / "results" / "paper" / "table1_reported.csv"), "--note", "age not run: offline"]) == 0
    table = pd.read_csv(out / "table1.csv")
    assert list(table["lambda"]) == [0.3, 0.3] and list(table["seed"]) == [0, 1]
    assert set(table["method"]) == {"λ-IJAE (λ = 0.3)"}
    md = (out / "table1.md").read_text()
    assert "digits-classifier score" in md and "not Inception" in md
    assert "| 2000 | 359 |" in md                       # sample counts on every row
    assert "6.96 ± 0.10" in md and "0.96 ± 0.1" in md     # the paper's values, parsed and as printed
    assert "| 6.30 |" in md and "nan" not in md           # AS-VAE: printed without a std
    assert "age not run: offline" in md


def test_ports_are_labelled_in_tables():
    from baselines.base import Adapter, REGISTRY

    class Fake(Adapter):
        name, label, kind = "fakeport", "FakeVAE", "port (from paper)"

    REGISTRY["fakeport"] = Fake()
    try:
        assert report.method_label(pd.Series(record(model="fakeport"))) == "FakeVAE [port from paper]"
    finally:
        del REGISTRY["fakeport"]
    assert report.method_label(pd.Series(record(variant="l2", lam=0.7))) == "λ-IJAE-L2 (λ = 0.7)"


def test_table1_without_its_lambda_is_an_error(metrics_csv):
    with pytest.raises(UserError, match="λ = 0.5"):
        report.table1(report.read_metrics(metrics_csv), lam=0.5)


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame([{"model": "ijae"}]).to_csv(path, index=False)
    with pytest.raises(UserError, match="missing column"):
        report.read_metrics(path)


def test_pareto_plot_writes_png_and_pdf(metrics_csv, tmp_path):
    png = report.pareto_plot(metrics_csv, tmp_path / "pareto.png")
    assert png.stat().st_size > 10_000 and (tmp_path / "pareto.pdf").stat().st_size > 5_000
