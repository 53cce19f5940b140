"""Table 1 and the Pareto plot from metric records alone."""
import subprocess
import sys

import pandas as pd
import pytest

from ijae import UserError, report
from ijae.cli import main
from conftest import REPO


GENERATION = "digits-classifier score (IS formula on a digits CNN; not Inception)"


def record(model="ijae", variant="implicit", lam=0.3, is_mean=5.0, recon=0.1, seed=0,
           label="λ-IJAE", implementation="native"):
    return {"model": model, "label": label, "implementation": implementation, "variant": variant,
            "lambda": lam, "seed": seed, "dataset": "digits", "profile": "default",
            "backend": "digits", "generation_metric": GENERATION, "is_mean": is_mean, "is_std": 0.1,
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
                 str(REPO / "inputs" / "paper_table1.csv"), "--note", "age not run: offline"]) == 0
    table = pd.read_csv(out / "table1.csv")
    # two seeds of λ-IJAE at λ = 0.3 (IS 7.5 and 7.4): one row, mean ± std over the seeds
    assert list(table["lambda"]) == [0.3] and list(table["seeds"]) == ["2 (seeds 0, 1)"]
    assert table["n_seeds"][0] == 2 and table["is_mean"][0] == pytest.approx(7.45)
    assert table["is_std"][0] == pytest.approx(0.0707107, rel=1e-4)
    assert table["is_std_over"][0] == "2 seeds"
    assert set(table["method"]) == {"λ-IJAE (λ = 0.3)"}
    md = (out / "table1.md").read_text()
    assert "7.45 ± 0.07" in md and "standard deviation over seeds" in md
    assert "digits-classifier score" in md and "not Inception" in md
    assert "| 2000 | 359 | 2 (seeds 0, 1) | 2 seeds |" in md            # sample counts on every row
    assert "6.96 ± 0.10" in md and "0.96 ± 0.1" in md     # the paper's values, parsed and as printed
    assert "| 6.30 |" in md and "nan" not in md           # AS-VAE: printed without a std
    assert "age not run: offline" in md


def test_ports_are_labelled_in_tables():
    """Label and implementation come from the record itself (no registry lookup): a model no
    registry knows is labelled as its record says."""
    fake = record(model="fakeport", label="FakeVAE", implementation="port (from paper)")
    assert report.method_label(pd.Series(fake)) == "FakeVAE [port from paper]"
    port = record(model="otherport", label="Other", implementation="port")
    assert report.method_label(pd.Series(port)) == "Other [port]"
    upstream = record(model="up", label="Up", implementation="upstream")
    assert report.method_label(pd.Series(upstream)) == "Up"
    assert report.method_label(pd.Series(record(variant="l2", lam=0.7))) == "λ-IJAE-L2 (λ = 0.7)"


def test_baseline_rows_carry_their_records_label_and_implementation(tmp_path):
    rows = [record(), record(model="age", label="AGE", implementation="upstream", is_mean=3.0),
            record(model="svae", label="AS-VAE", implementation="port (from paper)")]
    path = tmp_path / "metrics.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    table = report.write_table1(path, tmp_path / "out")
    assert dict(zip(table["model"], table["method"])) == {
        "ijae": "λ-IJAE (λ = 0.3)", "age": "AGE", "svae": "AS-VAE [port from paper]"}
    md = (tmp_path / "out" / "table1.md").read_text()
    assert "| AGE | upstream | digits | 3.00 ± 0.10 |" in md
    assert f"Generation: {GENERATION}" in md


def test_report_imports_neither_torch_nor_the_model_registry(metrics_csv, tmp_path):
    """Importing report and making a table from records loads no torch, no baseline and no
    model registry (a lazy lookup of labels in the registry would show up here)."""
    code = ("import sys; from ijae import report; "
            f"report.write_table1({str(metrics_csv)!r}, {str(tmp_path / 'out')!r}); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'baselines') "
            "or m == 'ijae.registry'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert (tmp_path / "out" / "table1.md").is_file()


def test_table1_without_its_lambda_is_an_error(metrics_csv):
    with pytest.raises(UserError, match="λ = 0.5"):
        report.table1(report.read_metrics(metrics_csv), lam=0.5)


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame([{"model": "ijae"}]).to_csv(path, index=False)
    with pytest.raises(UserError, match="missing column"):
        report.read_metrics(path)
    old = tmp_path / "old.csv"   # a record from before label / implementation were written
    pd.DataFrame([{k: v for k, v in record().items() if k != "label"}]).to_csv(old, index=False)
    with pytest.raises(UserError, match=r"\['label'\].*ijae evaluate"):
        report.read_metrics(old)


def test_one_seed_keeps_its_own_plus_minus_and_says_over_what(tmp_path):
    path = tmp_path / "metrics.csv"
    pd.DataFrame([record(is_mean=6.0)]).to_csv(path, index=False)
    table = report.write_table1(path, tmp_path / "out")
    assert table["is_std"][0] == pytest.approx(0.1) and table["n_seeds"][0] == 1
    md = (tmp_path / "out" / "table1.md").read_text()
    assert "6.00 ± 0.10" in md and "10 splits of the samples" in md and "(not over seeds)" in md


def test_table1_shows_label_agreement_beside_reconstruction_with_chance_and_ceiling(tmp_path):
    rows = [{**record(seed=s), "recon_label_agreement": a, "recon_label_agreement_chance": c,
             "digits_classifier_originals_accuracy": 0.989}
            for s, a, c in ((0, 0.80, 0.10), (1, 0.90, 0.12))]
    rows.append({**record(model="vae", variant=None, lam=None, label="VAE (resnet)",
                          implementation="port (from paper)"),
                 "recon_label_agreement": 0.95, "recon_label_agreement_chance": 0.09,
                 "digits_classifier_originals_accuracy": 0.989})
    csv = tmp_path / "metrics.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    report.write_table1(csv, tmp_path / "out")
    md = (tmp_path / "out" / "table1.md").read_text()
    head = next(line for line in md.splitlines() if line.startswith("| method"))
    assert "| reconstruction ↓ | label agreement ↑ | metric |" in head
    ijae_row = next(line for line in md.splitlines() if line.startswith("| λ-IJAE (λ = 0.3)"))
    assert ijae_row.split(" | ")[6] == "0.850"                       # mean of the two seeds
    assert "chance, each original against another image's reconstruction: 0.09–0.11 across " \
           "rows" in md and "what a perfect reconstruction scores: 0.99" in md
    assert all(line.count("|") == head.count("|") for line in md.splitlines()
               if line.startswith("| ") and "digits" in line)
    table = pd.read_csv(tmp_path / "out" / "table1.csv")
    assert table["recon_label_agreement"].tolist() == pytest.approx([0.85, 0.95])
    # records without it (the Inception backend, or older records): no column, no sentence
    pd.DataFrame([record()]).to_csv(csv, index=False)
    report.write_table1(csv, tmp_path / "out")
    assert "label agreement" not in (tmp_path / "out" / "table1.md").read_text().lower()


# Issue 11.4: a table never silently loses a row, and collect never counts a run twice or a
# broken evaluation as a score

def test_table1_at_a_lambda_not_run_is_an_error_naming_the_lambdas_present(tmp_path, capsys):
    path = tmp_path / "metrics.csv"   # λ-IJAE at 0.3 beside a baseline: the baseline row alone
    pd.DataFrame([record(lam=0.3), record(lam=0.1),   # would be a table with exit 0
                  record(model="age", variant=None, lam=None, label="AGE",
                         implementation="upstream")]).to_csv(path, index=False)
    assert main(["table1", str(path), "--out", str(tmp_path / "out"), "--lam", "0.7"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "λ = 0.7" in err and "λ = 0.1, 0.3" in err and "--lam" in err and "digits" in err
    assert not (tmp_path / "out" / "table1.md").exists()
    assert main(["table1", str(path), "--out", str(tmp_path / "out"), "--lam", "0.3"]) == 0


def test_table1_without_any_lambda_ijae_record_says_it_was_not_run(tmp_path):
    path = tmp_path / "metrics.csv"
    pd.DataFrame([record(model="age", variant=None, lam=None, label="AGE",
                         implementation="upstream"),
                  record(variant="l1", lam=0.3)]).to_csv(path, index=False)   # an ablation only
    rows = report.write_table1(path, tmp_path / "out", lam=0.7)
    assert list(rows["model"]) == ["age"]
    assert "- λ-IJAE was not run on digits" in (tmp_path / "out" / "table1.md").read_text()


def _write_records(tmp_path, records):
    from ijae.metrics import record as rec
    folders = []
    for i, r in enumerate(records):
        folders.append(tmp_path / f"run{i}")
        folders[-1].mkdir()
        rec.write(folders[-1], r)
    return [str(f) for f in folders]


def test_collect_refuses_two_records_of_one_run_naming_both_files(tmp_path, capsys):
    runs = _write_records(tmp_path, [record(seed=0), record(seed=1), record(seed=0, is_mean=6.0)])
    out = tmp_path / "metrics.csv"
    assert main(["collect", *runs, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"{runs[0]}/metrics.json and {runs[2]}/metrics.json" in err and "seed=0" in err
    assert not out.exists()
    assert main(["collect", *runs[:2], "--out", str(out)]) == 0    # distinct seeds: two rows
    assert len(pd.read_csv(out)) == 2


@pytest.mark.parametrize("key, value", [("is_mean", float("nan")), ("is_mean", None),
                                        ("recon_mean", float("inf")), ("fid", float("nan")),
                                        ("kid_mean", float("nan"))])
def test_collect_refuses_a_broken_evaluation_naming_the_file_and_key(tmp_path, capsys, key, value):
    good, bad = _write_records(tmp_path, [record(), {**record(seed=1), key: value}])
    out = tmp_path / "metrics.csv"
    assert main(["collect", good, bad, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{bad}/metrics.json" in err and key in err
    assert not out.exists()


def test_collect_keeps_a_metric_that_was_not_computed(tmp_path):
    """null is "not computed" (FID under --no-fid), not a broken score: kept, shown as —."""
    runs = _write_records(tmp_path, [{**record(), "fid": None}])
    assert main(["collect", *runs, "--out", str(tmp_path / "metrics.csv")]) == 0
    assert pd.read_csv(tmp_path / "metrics.csv")["fid"].isna().all()
