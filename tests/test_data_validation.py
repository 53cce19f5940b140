"""The validation split of tuning (data.split: validation): carved from the train split, held
out of it, the test split never in it; stacked digits carve the digits before stacking."""
from __future__ import annotations

import numpy as np

from ijae.config import DataConfig
from ijae.data import decode_modes, load_dataset


def as_set(images):
    return {im.tobytes() for im in images}


def test_digits_validation_is_carved_from_train_and_held_out_of_it():
    full = load_dataset(DataConfig(dataset="digits", image_size=16))
    tune = load_dataset(DataConfig(dataset="digits", image_size=16, split="validation"))
    assert len(tune.test) == round(0.2 * len(full.train))
    assert len(tune.train) + len(tune.test) == len(full.train)
    assert not as_set(tune.train) & as_set(tune.test)
    assert as_set(tune.test) <= as_set(full.train)
    assert not as_set(tune.test) & as_set(full.test)          # the test split is never seen
    again = load_dataset(DataConfig(dataset="digits", image_size=16, split="validation"))
    assert np.array_equal(again.test, tune.test)              # a fixed draw
    assert set(tune.test_labels) == set(range(10))


def test_stacked_validation_stacks_only_held_out_digits():
    """Every channel of a validation stack is a held-out digit: in no train stack, in no test
    digit; the modes' labels match the digits' labels."""
    kwargs = dict(dataset="stacked_digits", image_size=16, stacked_train=500, stacked_test=300)
    tune = load_dataset(DataConfig(split="validation", **kwargs))
    digits = load_dataset(DataConfig(dataset="digits", image_size=16, split="validation"))
    held_out = {im[..., 0].tobytes(): label for im, label in zip(digits.test, digits.test_labels)}
    trained = {im[..., 0].tobytes() for im in digits.train}
    for image, mode in zip(tune.test, tune.test_labels):
        for channel, label in zip(range(3), decode_modes(np.array([mode]))[0]):
            key = np.ascontiguousarray(image[..., channel]).tobytes()
            assert key in held_out and key not in trained
            assert held_out[key] == label
    for image in tune.train:
        for channel in range(3):
            assert np.ascontiguousarray(image[..., channel]).tobytes() in trained
