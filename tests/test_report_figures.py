"""The Pareto claim, Table 1's blocks and LaTeX, and the figures, from hand-made records."""
import json

import numpy as np
import pandas as pd
import pytest

from ijae import report
from ijae.contract import save_reconstructions, save_samples
from ijae.report import latex, pareto, samples
from conftest import REPO
from test_report import record


def sweep(implicit, l1):
    """Records of λ-IJAE and its L1 ablation: (λ, IS, recon) per point."""
    return pd.DataFrame([record(variant="implicit", lam=lam, is_mean=i, recon=r) for lam, i, r in implicit]
                        + [record(variant="l1", lam=lam, is_mean=i, recon=r) for lam, i, r in l1])


IMPLICIT_WINS = sweep(implicit=[(0.1, 7.0, 0.5), (0.5, 7.5, 0.8), (0.9, 6.0, 0.9)],
                      l1=[(0.1, 6.5, 0.9), (0.5, 7.0, 1.0)])
L1_WINS = sweep(implicit=[(0.1, 6.5, 0.9), (0.5, 7.0, 1.0)],
                l1=[(0.1, 7.0, 0.5), (0.5, 7.5, 0.8), (0.9, 6.0, 0.9)])


def test_the_verdict_flips_with_who_dominates():
    """Swapping the two sweeps flips the verdict; a sign error in "recon lower is better" (or
    "IS higher") would call the worse front dominant in one of the two."""
    win = pareto.verdict(pareto.points(IMPLICIT_WINS)).iloc[0]
    assert win["implicit_front_dominates"] and not win["front_dominates_implicit"]
    assert win["front_points"] == 2 and win["front_points_weakly_dominated_by_implicit"] == 2
    assert win["implicit_hypervolume"] > win["hypervolume"]
    lose = pareto.verdict(pareto.points(L1_WINS)).iloc[0]
    assert lose["front_dominates_implicit"] and not lose["implicit_front_dominates"]
    assert lose["implicit_hypervolume"] < lose["hypervolume"]
    assert "opposite of the paper's claim" in pareto.verdict_sentences(
        pareto.verdict(pareto.points(L1_WINS)), "digits")[0]


def test_non_dominated_points_and_hypervolume_by_hand():
    table = pareto.points(IMPLICIT_WINS)
    implicit = table[table["variant"] == "implicit"].set_index("lambda")
    # λ = 0.9 (IS 6.0, recon 0.9) is beaten by λ = 0.1 (7.0, 0.5) in both
    assert list(implicit["non_dominated_in_variant"]) == [True, True, False]
    front = implicit[implicit["non_dominated_in_variant"]]
    # box: IS ≥ 6.0, recon ≤ 1.0; (0.5, 7.0) then (0.8, 7.5): 0.3 * 1.0 + 0.2 * 1.5
    assert pareto.hypervolume(front, 6.0, 1.0) == pytest.approx(0.6)


def test_pareto_cli_writes_the_csvs_and_both_figures(tmp_path, capsys):
    from ijae.cli import main

    path = tmp_path / "metrics.csv"
    pd.concat([IMPLICIT_WINS, pd.DataFrame([record(model="vae", label="VAE (resnet)", variant=None,
                                                   lam=None, is_mean=5.0, recon=0.2)])]).to_csv(path, index=False)
    assert main(["pareto", str(path), "--out", str(tmp_path / "out")]) == 0
    assert "λ-IJAE's front dominates the λ-IJAE-L1 front" in capsys.readouterr().out
    fronts = pd.read_csv(tmp_path / "out" / "pareto_fronts.csv")
    assert set(fronts.columns) >= {"run", "variant", "lambda", "is", "recon", "non_dominated"}
    # the VAE (best recon) and λ-IJAE λ = 0.5 (best IS) are the overall front
    overall = fronts[fronts["non_dominated"]]
    assert sorted(overall["variant"].astype(str)) == ["VAE (resnet)", "implicit", "implicit"]
    for name in ("figure2", "figure3"):
        assert (tmp_path / "out" / f"{name}.png").stat().st_size > 10_000
        assert (tmp_path / "out" / f"{name}.pdf").stat().st_size > 5_000


def test_two_dataset_blocks_with_the_papers_values_and_bold_latex(tmp_path):
    rows = []
    for dataset, base in (("cifar10", 6.0), ("tinyimagenet", 5.0)):
        rows += [dict(record(is_mean=base + 1, recon=0.3), dataset=dataset),
                 dict(record(model="age", label="AGE", variant=None, lam=None, is_mean=base,
                             recon=0.1), dataset=dataset)]
    path = tmp_path / "metrics.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    table = report.write_table1(path, tmp_path, paper_csv=REPO / "inputs" / "paper_table1.csv")
    md = (tmp_path / "table1.md").read_text()
    assert "## cifar10" in md and "## tinyimagenet" in md and "paper IS ↑" in md
    # the paper's AGE beside ours, per block: 5.90 on CIFAR-10, 6.75 on TinyImageNet
    cifar = md.split("## cifar10")[1].split("## tinyimagenet")[0]
    assert "| AGE | native | cifar10 |" in cifar and "5.90 ± 0.04 | 0.06 ± 0.02 |" in cifar
    assert "SVAE (paper only; not run here)" in cifar
    assert "6.75 ± 0.09" in md.split("## tinyimagenet")[1]
    tex = (tmp_path / "table1.tex").read_text()
    block = tex.split(r"\begin{table}")[1]        # cifar10: λ-IJAE best IS, AGE best recon
    assert r"\textbf{7.00 $\pm$ 0.10}" in block and r"\textbf{0.100 $\pm$ 0.010}" in block
    assert r"\textbf{0.300" not in block and len(table) == 4
    assert latex.escape("λ-IJAE_1") == r"$\lambda$-IJAE\_1"


def test_samples_grid_upscales_and_labels_every_run(tmp_path):
    rng = np.random.default_rng(0)
    runs = []
    for name in ("a", "b"):
        run = tmp_path / name
        run.mkdir()
        originals = np.full((12, 16, 16, 3), 7, np.uint8)
        save_samples(run / "samples.npz", rng.integers(0, 255, (12, 16, 16, 3), dtype=np.uint8))
        save_reconstructions(run / "reconstructions.npz", originals, originals)
        runs.append(run)
    rows = samples.grid_rows(runs, 10)
    assert [label for label, _, _ in rows] == ["originals (test split)", "a: samples",
                                               "a: reconstructions", "b: samples", "b: reconstructions"]
    image, cell, height = samples.canvas(rows, 10)
    assert cell == 64 and height == 66 and image.shape == (5 * 66, 10 * 66, 3)   # 16 px × 4, nearest
    # a record's labels go under the images (what the classifier read; the originals' truth),
    # in the order of the images, and make room for themselves
    (runs[1] / "metrics.json").write_text(json.dumps({
        "model": "vae", "label": "VAE", "labels_first_samples": " ".join(f"{i:03d}" for i in range(16)),
        "labels_first_reconstructions": "5 " * 16, "labels_first_originals": "7 " * 16}))
    rows = samples.grid_rows(runs, 10)
    assert rows[3][0] == "VAE: samples" and rows[3][2] == [f"{i:03d}" for i in range(10)]
    assert rows[4][2] == ["5"] * 10 and rows[0][2] == []      # the first run has no record
    assert samples.canvas(rows, 10)[2] == 66 + samples.TEXT
    up = samples.upscale(np.arange(4, dtype=np.uint8).reshape(1, 2, 2, 1), 2)
    assert up[0, :, :, 0].tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]
    png = samples.samples_grid(runs, tmp_path / "grid.png", title="digits")
    assert png.is_file() and (tmp_path / "grid.pdf").is_file()


def test_stacked_images_get_their_channels_beside_them_in_order(tmp_path):
    """A stacked-digits cell: the image, then its R, G, B channels top to bottom in grey, each a
    third of its height (a strip in another channel order, or in colour, fails here)."""
    image = np.zeros((1, 16, 16, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 10, 20, 30
    rows = [("originals", image, [])]
    plain, cell, _ = samples.canvas(rows, 1)
    assert cell == 64 and plain.shape[1] == 64 + samples.GAP
    out, cell, height = samples.canvas(rows, 1, channels=True)
    side = 16 * 6                                  # 4x rounded up to a multiple of 3
    assert height == side + samples.GAP and cell == side + samples.GAP + side // 3
    assert (out[:side, :side] == image[0, 0, 0]).all()                 # the image itself
    strip = out[:side, side + samples.GAP:cell]
    assert strip.shape == (side, side // 3, 3)
    for k, value in enumerate((10, 20, 30)):
        tile = strip[k * side // 3:(k + 1) * side // 3]
        assert (tile == value).all(), k                                  # grey: R = G = B
    run = tmp_path / "run"
    run.mkdir()
    save_samples(run / "samples.npz", np.repeat(image, 4, axis=0))
    save_reconstructions(run / "reconstructions.npz", np.repeat(image, 4, axis=0),
                         np.repeat(image, 4, axis=0))
    assert not samples.has_channel_digits([run])
    (run / "metrics.json").write_text(json.dumps({"dataset": "stacked_digits", "model": "vae",
                                                  "label": "VAE"}))
    assert samples.has_channel_digits([run])
    assert samples.samples_grid([run], tmp_path / "grid.png", n=4).is_file()


def test_label_placement_does_not_depend_on_the_machines_speed(tmp_path, monkeypatch):
    """Figure 3's labels are spread by adjustText for a fixed number of steps: with its default
    (stop after 1 s of wall time) a slower or busier machine placed them elsewhere and a redraw of
    unchanged records changed the PNG. A clock that races ahead must not change the bytes."""
    import itertools

    import adjustText

    from ijae.report import figures

    metrics = sweep(implicit=[(0.1, 7.0, 0.5), (0.3, 7.05, 0.52), (0.5, 7.1, 0.55), (0.9, 6.0, 0.9)],
                    l1=[(0.1, 6.5, 0.9)])
    figures.figure3(metrics, tmp_path / "normal.png")
    clock = itertools.count(step=10.0)   # every reading 10 s after the last
    monkeypatch.setattr(adjustText, "timer", lambda: next(clock))
    figures.figure3(metrics, tmp_path / "slow.png")
    assert (tmp_path / "normal.png").read_bytes() == (tmp_path / "slow.png").read_bytes()
