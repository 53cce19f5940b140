"""The Stacked MNIST table from records alone: our rows per method and λ, the classifier's
accuracy above them, the published rows below, as printed and never merged with ours."""
import pandas as pd
import pytest

from ijae import UserError
from ijae.cli import main
from ijae.report import stacked_mnist
from conftest import REPO

REPORTED = REPO / "inputs" / "stacked_mnist_reported.csv"


def record(model="ijae", lam=0.3, modes=900, seed=0, dataset="stacked_mnist", label="λ-IJAE"):
    return {"model": model, "label": label, "implementation": "native",
            "variant": "implicit" if model == "ijae" else None, "lambda": lam if model == "ijae" else None,
            "seed": seed, "dataset": dataset, "profile": "default", "backend": "digits",
            "generation_metric": "MNIST-classifier score over the 1,000 stacked modes",
            "is_mean": 200.0, "is_std": 3.0, "is_std_over": "10 splits of the samples",
            "n_samples": 26000, "fid": 300.0, "recon_metric": "mnist-feature-distance",
            "recon_mean": 1.5, "recon_std": 0.1, "recon_std_over": "images",
            "n_reconstructions": 10000, "modes_covered": modes, "n_modes": 1000,
            "modes_covered_rule": "at least 1 sample (of 26000)", "mode_kl": 0.3,
            "mode_kl_reference": "uniform over the 1,000 modes", "image_size": 16,
            "digits_classifier_test_accuracy": 0.971, "digits_classifier_dataset": "mnist",
            "preset_kind": "tuned"}


def write(tmp_path, rows):
    path = tmp_path / "metrics.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_every_lambda_and_baseline_is_a_row_and_the_published_rows_follow(tmp_path, capsys):
    rows = [record(lam=lam, modes=m) for lam, m in ((0, 400), (0.3, 950), (1, 700))]
    rows += [record(model="vae", modes=980, label="VAE (resnet)"), record(dataset="stacked_digits", modes=1)]
    assert main(["stacked-mnist", str(write(tmp_path, rows)), "--reported", str(REPORTED),
                 "--out", str(tmp_path)]) == 0
    text = (tmp_path / "stacked_mnist.md").read_text()
    ours, theirs = text.split("## Reported (published; not produced here)")
    for lam, modes in (("0", 400), ("0.3", 950), ("1", 700)):   # one row per λ, not only Table 1's
        assert f"| λ-IJAE (λ = {lam}) |" in ours and f"| {modes} / 1000 |" in ours
    assert "| 980 / 1000 |" in ours and "| 1 / 1000 |" not in ours   # stacked digits left out
    assert "trained on the mnist train split (its accuracy on the mnist test split: 0.97)" in ours
    assert "VEEGAN" not in ours.split("- Run:")[0]      # no published row among ours
    # as printed, trailing zeros kept: PacGAN's 1000.0 ± 0.00, VEEGAN's 150 / 2.95
    assert "| PacDCGAN2 | 10 | 1000.0 ± 0.00 | 0.06 ± 0.003 |" in theirs
    assert "| VEEGAN | 5 (VEEGAN's text: averaged over five runs) | 150 | 2.95 |" in theirs
    assert theirs.count("| VEEGAN (Srivastava et al. 2017) |") == 4
    # trials as the source gives them: PacGAN's Table 3 quotes Unrolled GAN's rows, no count
    assert "| Unrolled GAN, 5 steps | not stated: quoted by PacGAN from the Unrolled GAN paper" in theirs
    assert "| PacDCGAN2 | 50 | 484.5 ± 32.99 |" in theirs
    table = pd.read_csv(tmp_path / "stacked_mnist.csv")
    assert sorted(table["modes_covered"]) == [400, 700, 950, 980]
    assert "950 / 1000 modes" in capsys.readouterr().out


def test_no_stacked_mnist_record_and_a_bad_published_file_are_named(tmp_path):
    metrics = write(tmp_path, [record(dataset="stacked_digits")])
    with pytest.raises(UserError, match="no stacked_mnist record .*datasets: stacked_digits"):
        stacked_mnist.write_stacked_mnist(metrics, tmp_path, REPORTED)
    bad = tmp_path / "reported.csv"
    bad.write_text("source,method\nVEEGAN,DCGAN\n")
    with pytest.raises(UserError, match=r"reported.csv: missing column\(s\) table, setup, modes"):
        stacked_mnist.read_reported(bad)
