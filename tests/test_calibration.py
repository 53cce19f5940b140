"""The measures on known-answer controls (ijae/metrics/controls.py, calibration.py, manifold.py,
accept.py; report/calibration.py), through the evaluate code a run goes through, on small sets.
Each test names the broken instrument it catches: a measure that rates noise or copies like real
digits, a guard that passes a degenerate set, density / coverage that are not Naeem et al.'s, a
copying test that cannot tell train copies from unseen images."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ijae import UserError, cli
from ijae.config import DataConfig
from ijae.data import load_dataset
from ijae.metrics import calibration, controls, manifold
from ijae.metrics import keys as K
from ijae.report import calibration as report
from conftest import REPO

N = 300   # images a control: seconds on a CPU


@pytest.fixture(scope="module")
def scored(tmp_path_factory, metrics_cache):
    """The digits controls (and small stacked-digits ones) scored by `ijae calibrate`'s code."""
    out = tmp_path_factory.mktemp("calibration")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IJAE_WORK", str(out))
        digits = calibration.score_controls(REPO / "config" / "default.yaml", "digits", out, n=N,
                                            cache_dir=metrics_cache, progress=False)
        stacked = calibration.score_controls(
            REPO / "config" / "default.yaml", "stacked_digits", out, n=N, cache_dir=metrics_cache,
            sets=["data.stacked_train=2000", "data.stacked_test=400"], progress=False)
    return pd.DataFrame.from_records(digits + stacked)


DECIDING = (K.KEY_METRIC_FID, K.KEY_METRIC_COVERAGE, K.KEY_METRIC_MODES_COVERED_ACCEPTED,
            K.KEY_METRIC_MODE_KL_ACCEPTED, K.KEY_METRIC_IS_MEAN)


@pytest.mark.slow
def test_every_degenerate_control_ranks_below_both_positives_on_the_deciding_measures(scored):
    order = report.ordering(scored).set_index(["dataset", "measure"])
    for dataset in ("digits", "stacked_digits"):
        for measure in DECIDING:
            row = order.loc[(dataset, measure)]
            assert row["passes"], (dataset, measure, row["worst_positive"], row["best_degenerate"])
            assert row["margin"] > 0


@pytest.mark.slow
def test_noise_covers_no_mode_once_samples_must_be_digits(scored):
    """The raw mode count of smooth noise is high (the classifier labels blobs confidently); over
    the samples accepted as digits it is 0, and the real test images keep nearly all."""
    s = scored.set_index(["dataset", "control"])
    for dataset in ("digits", "stacked_digits"):
        for noise in ("noise_uniform", "noise_binary", "noise_smooth", "inverted"):
            assert s.loc[(dataset, noise), K.KEY_ACCEPTED_SHARE] == 0
            assert s.loc[(dataset, noise), K.KEY_METRIC_MODES_COVERED_ACCEPTED] == 0
        assert s.loc[(dataset, "real_test"), K.KEY_ACCEPTED_SHARE] > 0.9
    assert s.loc[("stacked_digits", "noise_smooth"), K.KEY_METRIC_MODES_COVERED] > 100


@pytest.mark.slow
def test_the_guard_flags_every_degenerate_control_and_passes_real_and_blurred_images(scored):
    check = report.guard_check(scored)
    wrong = check[~check["right"]]
    assert wrong.empty, wrong[["dataset", "control", K.KEY_COLLAPSE_REASON]].to_string()
    flagged = scored[scored[calibration.CONTROL_KIND] == controls.DEGENERATE]
    assert flagged[K.KEY_COLLAPSE_REASON].str.len().gt(0).all()     # each names its measure
    assert (scored.loc[scored[calibration.CONTROL_KIND] != controls.DEGENERATE,
                       K.KEY_COLLAPSE_REASON].fillna("") == "").all()


@pytest.mark.slow
def test_the_copying_test_separates_train_copies_from_unseen_images(scored):
    copying = report.copying_check(scored).set_index("dataset")
    assert copying["passes"].all()
    s = scored.set_index(["dataset", "control"])
    assert abs(s.loc[("digits", "real_test"), K.KEY_METRIC_COPYING]) < 3
    assert s.loc[("digits", "copies_10"), K.KEY_METRIC_COPYING] < -3
    assert s.loc[("digits", "noise_smooth"), K.KEY_METRIC_COPYING] > 3   # far from train: not copying


@pytest.mark.slow
def test_the_stacked_is_is_reported_beside_its_ceiling_and_the_real_images(scored):
    s = scored.set_index(["dataset", "control"]).loc["stacked_digits"]
    ceiling, real = s[K.KEY_IS_CEILING].iloc[0], s[K.KEY_IS_REAL].iloc[0]
    assert (s[K.KEY_IS_SPLIT_SIZE] == N).all()           # one split of all 300
    # a perfect sampler's expected IS, not a bound: soft class probabilities score a little above
    assert 200 < ceiling < N and s["is_mean"].max() <= ceiling * 1.1
    assert 0.7 * ceiling < real < 1.1 * ceiling


def test_density_and_coverage_match_prdc_on_a_fixed_feature_set():
    prdc = pytest.importorskip("prdc", reason="prdc (Naeem et al.'s reference code) not installed")
    rng = np.random.default_rng(0)
    real = rng.normal(0, 1, (600, 16))
    fake = np.r_[rng.normal(0.3, 1.2, (500, 16)), rng.normal(3, 0.2, (100, 16))]
    ours = manifold.density_coverage(real, fake, 5)
    theirs = prdc.compute_prdc(real, fake, 5)
    assert ours[K.KEY_METRIC_DENSITY] == pytest.approx(theirs["density"], rel=1e-9)
    assert ours[K.KEY_METRIC_COVERAGE] == pytest.approx(theirs["coverage"], rel=1e-9)
    radii = prdc.prdc.compute_nearest_neighbour_distances(real, 5)
    assert manifold.knn_radii(real, 5) == pytest.approx(radii)


def test_the_copying_statistic_on_features_whose_answer_is_known():
    rng = np.random.default_rng(1)
    train, heldout = rng.normal(0, 1, (800, 8)), rng.normal(0, 1, (300, 8))
    unseen = rng.normal(0, 1, (400, 8))
    assert abs(manifold.copying_ct(train, heldout, unseen)) < 3
    assert manifold.copying_ct(train, heldout, train[rng.integers(0, 800, 400)]) < -3
    assert manifold.copying_ct(train, heldout, unseen * 2.5) > 3


def test_controls_are_fixed_draws_of_the_right_shape(metrics_cache):
    ds = load_dataset(DataConfig(dataset="digits", image_size=16))
    src = controls.Source(ds.train, ds.test, ds.train_labels, ds.test_labels, stacked=False)
    for name in controls.names(stacked=False):
        a, b = controls.make(name, src, 50), controls.make(name, src, 50)
        assert a.dtype == np.uint8 and a.shape == (50, 16, 16, 3) and np.array_equal(a, b), name
    assert len(np.unique(controls.make("copies_3", src, 50).reshape(50, -1), axis=0)) == 3
    one = controls.make("one_mode", src, 50)
    assert len(np.unique(one.reshape(50, -1), axis=0)) > 10      # one class, with its variation
    assert "copies_100" not in controls.names(stacked=False)
    with pytest.raises(UserError, match="unknown control 'copies_100'"):
        controls.make("copies_100", src, 10)
    with pytest.raises(UserError, match=r"control bad: images are uint8 \(5, 8, 8, 3\); expected"):
        controls.check_shape(np.zeros((5, 8, 8, 3), np.uint8), (16, 16, 3), "bad")


def test_ijae_calibrate_names_an_unknown_control_in_one_line(tmp_path, capsys):
    code = cli.main(["calibrate", str(REPO / "config" / "default.yaml"), "--dataset", "digits",
                     "--folder", str(tmp_path), "--out", str(tmp_path / "c.csv"),
                     "--controls", "real_test,white_noise"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "unknown control 'white_noise'" in err
