"""The one selection criterion of every study: a pure function of a trial's metric record.

    criterion = ln FID + ln d      (lower is better)

FID: the trial's samples against the validation split (``eval.fid_reference: heldout``);
d: the mean reconstruction distance of the validation split's images (the backend's Table 1
reconstruction column: digits-feature-distance on the default profile, LPIPS on the paper's).
The validation split is carved from the train split and held out of the trial's training
(``data.split: validation``); the test split is never loaded by a trial. The sum of logs is the
log of the product: unit-free, so a 10 % better FID counts as much as a 10 % closer
reconstruction, whatever the metrics' scales. A record not made on the validation split is
refused: a study can never select on the test split.
"""
from __future__ import annotations

import math

from ijae import UserError
from ijae.metrics import keys as K

NAME = "ln FID + ln reconstruction distance (validation split)"


class UnscoredError(UserError, ValueError):
    """The record has no finite FID or reconstruction distance: the trial failed to be scored."""
FLOOR = 1e-6     # FID is >= 0 in theory; a tiny negative estimate must not break the log


def check_validation(record: dict, where: str) -> None:
    """Refuse a record whose held-out split or FID reference is not the validation split."""
    split = record.get(K.KEY_HELDOUT_SPLIT)
    reference = str(record.get(K.KEY_FID_REFERENCE) or "")
    if split != "validation" or not reference.endswith("validation split"):
        raise UserError(f"{where}: its record was scored on the {split} split with FID against "
                        f"the {reference or 'no'} reference; a study selects on the validation "
                        "split only (data.split=validation, eval.fid_reference=heldout)")


def value(record: dict, where: str = "trial") -> float:
    """The criterion of a trial's record (module docstring)."""
    check_validation(record, where)
    fid, distance = record.get(K.KEY_METRIC_FID), record.get(K.KEY_METRIC_RECON_MEAN)
    for key, v in ((K.KEY_METRIC_FID, fid), (K.KEY_METRIC_RECON_MEAN, distance)):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            raise UnscoredError(f"{where}: {key} is {v!r}; the criterion needs a finite number")
    return math.log(max(fid, FLOOR)) + math.log(max(distance, FLOOR))
