# What the report rules (tables.smk, figures.smk) compute from the config and the files already
# there: the captions' provenance, a sample grid's runs, which grids the cache can redraw.
# Plain Python: no ijae, torch or baseline import, no file written.
import csv
import json


def provenance(csv_path):
    """What was run, for the report's captions, from the metric records (read when the report
    is made, when they exist): profile, backend, samples, seeds, commit."""
    if not Path(csv_path).is_file():
        return "(records not made yet)"
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))

    def values(key, fmt=str):
        return ", ".join(sorted({fmt(r[key]) for r in rows if r.get(key)})) or "?"

    return (f"profile {values('profile')}; backend {values('backend')}; "
            f"{values('n_samples')} samples per run; seeds {values('seed')}; "
            f"{len(rows)} runs; commit {values('git_commit', lambda c: c[:10])}")


MODES_COLUMNS = ("precision", "recall")   # what `ijae modes` needs beyond Table 1's columns


def records_have(csv_path, columns):
    """Whether the metric records exist and carry every one of ``columns`` (its header)."""
    if not Path(csv_path).is_file():
        return False
    with open(csv_path, newline="") as f:
        header = next(csv.reader(f), [])
    return all(c in header for c in columns)


def grid_runs(dataset, runnable):
    """The run folders of a dataset's grid: Table 1's runs (λ-IJAE at its λ, the baselines in
    ``runnable``), first seed; Stacked MNIST: its table's runs (rules/stacked_mnist.smk)."""
    if dataset == "stacked_mnist":
        return stacked_mnist_runs(runnable)
    return [f"{RUNS}/{dataset}/{run_id('ijae', SEEDS[0], 'implicit', LAM)}"] + [
        f"{RUNS}/{dataset}/{run_id(m, SEEDS[0])}" for m in BASELINES[dataset] if m in runnable]


def sample_runs(wildcards):
    """A dataset's grid runs, with the baselines the checkout job found runnable here."""
    from ijae import availability

    # a redraw reads the checkout's record as it is (no checkout job in the workflow then)
    record = AVAILABLE if REDRAW else checkpoints.checkout.get().output[0]
    return grid_runs(wildcards.dataset, set(availability.available(record)))


def if_present(output, *paths):
    """``output`` when every one of ``paths`` exists, else nothing: a report the figures target
    draws only where its committed records are there."""
    return output if all(Path(p).is_file() for p in paths) else []


def cached_sample_datasets():
    """Datasets whose grid can be drawn from the work folder as it is: the checkout's record
    and every run's exported images are there (so the figures target plans no job for them)."""
    record = Path(AVAILABLE)
    if not record.is_file():
        return []
    runnable = set(m for m, ok in ((r["model"], r["available"]) for r in json.loads(record.read_text())) if ok)
    artifacts = ("samples.npz", "reconstructions.npz", "metrics.json")
    return [d for d in DATASETS
            if all(Path(f"{r}/{name}").is_file() for r in grid_runs(d, runnable) for name in artifacts)]
