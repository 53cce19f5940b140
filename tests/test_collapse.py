"""The collapse guard (ijae/metrics/collapse.py): degenerate samples are called collapsed with the
measure that decided it, real-looking samples are not; every record carries the verdict."""
from __future__ import annotations

import numpy as np
import pytest

from ijae.config import DataConfig
from ijae.data import load_dataset
from ijae.metrics import collapse
from ijae.metrics import keys as K


@pytest.fixture(scope="module")
def digits16():
    return load_dataset(DataConfig(dataset="digits", image_size=16))


def judge(samples, real, modes=None, n_modes=10):
    record = collapse.image_measures(samples, real)
    if modes is not None:
        record.update(collapse.top_modes_share(modes, n_modes))
    return {**record, **collapse.verdict(record)}


def test_constant_images_are_collapsed(digits16):
    grey = np.full((500, 16, 16, 3), 128, np.uint8)
    out = judge(grey, digits16.test)
    assert out[K.KEY_COLLAPSED]
    assert out[K.KEY_SAMPLE_CONTRAST_RATIO] == 0 and out[K.KEY_SAMPLE_SPREAD_RATIO] == 0
    assert "near-constant images" in out[K.KEY_COLLAPSE_REASON]
    assert "near-identical samples" in out[K.KEY_COLLAPSE_REASON]


def test_one_image_repeated_is_collapsed_though_it_has_contrast(digits16):
    same = np.repeat(digits16.train[:1], 500, axis=0)
    out = judge(same, digits16.test)
    assert out[K.KEY_COLLAPSED] and out[K.KEY_SAMPLE_CONTRAST_RATIO] > 0.5
    assert out[K.KEY_COLLAPSE_REASON].startswith("near-identical samples")


def test_real_images_and_noisy_real_images_are_not_collapsed(digits16):
    rng = np.random.default_rng(0)
    noisy = np.clip(digits16.train[:800] + rng.normal(0, 15, (800, 16, 16, 3)), 0, 255).astype(np.uint8)
    for samples in (digits16.train[:800], noisy):
        out = judge(samples, digits16.test, modes=digits16.train_labels[:800])
        assert not out[K.KEY_COLLAPSED], out
        assert out[K.KEY_COLLAPSE_REASON] == ""
        assert 0.8 < out[K.KEY_SAMPLE_SPREAD_RATIO] < 1.25


def test_a_few_modes_holding_most_samples_are_collapsed(digits16):
    """Digits: one class of ten holding half the samples; stacked digits: the 10 most common
    of 1,000 modes (1 %) holding half: collapsed. Uniform modes are not."""
    samples = digits16.train[:1000]
    half_one_class = np.r_[np.zeros(500, int), np.arange(500) % 10]
    out = judge(samples, digits16.test, half_one_class, 10)
    assert out[K.KEY_COLLAPSED] and out[K.KEY_TOP_MODES_K] == 1
    assert "the most common mode holds 55%" in out[K.KEY_COLLAPSE_REASON]
    diagonal = np.r_[np.repeat([0, 111, 222, 333, 444, 555, 666, 777, 888, 999], 60), np.arange(400)]
    out = judge(samples, digits16.test, diagonal, 1000)
    assert out[K.KEY_COLLAPSED] and out[K.KEY_TOP_MODES_K] == 10
    out = judge(samples, digits16.test, np.arange(1000), 1000)
    assert not out[K.KEY_COLLAPSED] and out[K.KEY_TOP_MODES_SHARE] == pytest.approx(0.01)


def test_thresholds_are_strict_at_their_ends():
    at = {K.KEY_SAMPLE_SPREAD_RATIO: collapse.RATIO_MIN, K.KEY_SAMPLE_CONTRAST_RATIO: 1.0,
          K.KEY_TOP_MODES_SHARE: collapse.TOP_MODES_SHARE_MAX - 1e-9, K.KEY_TOP_MODES_K: 1}
    assert not collapse.verdict(at)[K.KEY_COLLAPSED]
    assert collapse.verdict({**at, K.KEY_TOP_MODES_SHARE: collapse.TOP_MODES_SHARE_MAX})[K.KEY_COLLAPSED]
    assert not collapse.verdict({})[K.KEY_COLLAPSED]   # nothing measured: nothing decided


def test_evaluate_records_the_verdict_of_a_run_of_grey_samples(tmp_path, digits16, metrics_cache,
                                                               monkeypatch):
    """Through `ijae evaluate`: a run whose samples are one grey image is recorded collapsed,
    with the measures; a run of real-looking samples is not."""
    import json

    from ijae import cli, contract
    from test_metrics_evaluate import make_run

    monkeypatch.setenv("IJAE_WORK", str(tmp_path))
    good = make_run(tmp_path / "good", digits16)
    bad = make_run(tmp_path / "bad", digits16)
    contract.save_samples(bad / contract.SAMPLES, np.full((300, 16, 16, 3), 100, np.uint8))
    for run in (good, bad):
        assert cli.main(["evaluate", str(run), "--cache-dir", str(metrics_cache), "--no-kid",
                         "--no-prc"]) == 0
    good_rec, bad_rec = (json.loads((r / contract.METRICS).read_text()) for r in (good, bad))
    assert good_rec[K.KEY_COLLAPSED] is False and good_rec[K.KEY_COLLAPSE_REASON] == ""
    assert bad_rec[K.KEY_COLLAPSED] is True
    assert "near-constant images" in bad_rec[K.KEY_COLLAPSE_REASON]
    assert bad_rec[K.KEY_TOP_MODES_SHARE] == 1.0   # one image: one class


def test_stacks_with_some_plausible_digits_are_digits_and_noise_is_not(digits16):
    """The "not digits" rule counts digits one by one: stacks whose channels are each a real
    digit 40 % of the time (6 % of stacks all three) are a generator at work, not noise; counted
    by whole stacks they were flagged (a healthy λ-IJAE run on stacked digits: 0.06)."""
    from ijae.metrics import accept

    rng = np.random.default_rng(0)
    n = 600
    real = digits16.train[rng.integers(0, len(digits16.train), (n, 3)), :, :, 0]      # [n, 3, H, W]
    blobs = (rng.random((n, 3, 16, 16)) < 0.3).astype(np.uint8) * 255
    stacks = np.where((rng.random((n, 3)) < 0.4)[..., None, None], real, blobs).transpose(0, 2, 3, 1)
    fields = accept.accepted_fields(stacks, np.zeros(n, int), "digits", True,
                                    np.full(1000, 1 / 1000), 0.0)
    assert fields[K.KEY_ACCEPTED_SHARE] < 0.1 < 0.3 < fields[K.KEY_ACCEPTED_DIGIT_SHARE] < 0.5
    assert not collapse.verdict(fields)[K.KEY_COLLAPSED]
    noise = blobs.transpose(0, 2, 3, 1)
    flagged = collapse.verdict(accept.accepted_fields(noise, np.zeros(n, int), "digits", True,
                                                      np.full(1000, 1 / 1000), 0.0))
    assert flagged[K.KEY_COLLAPSED] and "not digits: accepted_digit_share 0.000" in flagged[K.KEY_COLLAPSE_REASON]
