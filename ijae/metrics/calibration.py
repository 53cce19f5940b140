"""Score the known-answer controls (controls.py) of a dataset through the evaluate code a run goes
through: ``ijae calibrate`` and ``snakemake calibrate``.

Each control becomes a run folder of its own, ``<out>/<dataset>/<control>/``: the profile's
config for the dataset, the control's images as ``samples.npz``, and the held-out images as both
the originals and the reconstructions of ``reconstructions.npz`` (a perfect reconstruction: the
controls test the generation side; the reconstruction measures carry their own anchors, chance
and perfect, in every record). ``ijae evaluate``'s code scores it, so a measure is calibrated
exactly as it scores a run. The table (report/calibration.py) reads the records.
"""
from __future__ import annotations

from pathlib import Path

from ijae import UserError
from ijae.metrics import controls

CONTROL = "control"          # the record fields a control's record adds
CONTROL_KIND = "control_kind"
CONTROL_WHAT = "control_what"


def score_controls(config_path: str | Path, dataset: str, out: str | Path, *, n: int | None = None,
                   names=None, sets=(), cache_dir: str | Path | None = None,
                   progress: bool = True) -> list[dict]:
    """The records of ``dataset``'s controls (``names``: all of its controls) at ``n`` images
    each (default: the profile's export.n_samples), under the profile ``config_path`` with
    ``sets`` (``KEY=VALUE``) on top."""
    from tqdm import tqdm

    from ijae import config, contract, data, datasets
    from ijae.metrics.evaluate import evaluate_run

    cfg = config.load(config_path, [f"data.dataset={dataset}", *sets])
    stacked = datasets.get(cfg.data.dataset).stacked
    names = controls.check_names(names, stacked)
    n = n or cfg.export.n_samples
    ds = data.load_dataset(cfg.data)
    src = controls.Source(ds.train, ds.test, ds.train_labels, ds.test_labels, stacked)
    heldout = ds.test[:cfg.export.n_reconstructions or len(ds.test)]
    records = []
    for name in tqdm(names, desc=f"calibrate {dataset}", unit="control", disable=not progress):
        images = controls.make(name, src, n)
        folder = Path(out) / dataset / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / contract.CONFIG).write_text(config.dump(cfg))
        contract.save_samples(folder / contract.SAMPLES, images)
        contract.save_reconstructions(folder / contract.RECONSTRUCTIONS, heldout, heldout)
        record = evaluate_run(folder, cache_dir=cache_dir, verbose=False)
        control = controls.BY_NAME[name]
        records.append({CONTROL: name, CONTROL_KIND: control.kind, CONTROL_WHAT: control.what,
                        **record})
    return records


def write_records(records: list[dict], out_csv: str | Path):
    """The controls' records as one CSV (a row per control), written atomically."""
    import pandas as pd

    from ijae.contract import atomic_write_text

    if not records:
        raise UserError("calibrate: no control scored")
    table = pd.DataFrame.from_records(records)
    atomic_write_text(out_csv, table.to_csv(index=False))
    return table
