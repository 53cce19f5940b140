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


def sample_runs(wildcards):
    """The run folders of a dataset's grid: Table 1's runs (λ-IJAE at its λ, the baselines
    that could run here), first seed."""
    ijae = f"{RUNS}/{wildcards.dataset}/{run_id('ijae', SEEDS[0], 'implicit', LAM)}"
    prefix, suffix = f"{RUNS}/{wildcards.dataset}/", f"-seed{SEEDS[0]}"
    return [ijae] + [r for r in baseline_runs(wildcards) if r.startswith(prefix) and r.endswith(suffix)]


def cached_sample_datasets():
    """Datasets whose grid can be drawn from the work folder as it is: the checkout's record
    and every run's exported images are there (so the figures target plans no job for them)."""
    record = Path(rules.checkout.output[0])
    if not record.is_file():
        return []
    runnable = set(m for m, ok in ((r["model"], r["available"]) for r in json.loads(record.read_text())) if ok)
    done = []
    for d in DATASETS:
        runs = [f"{RUNS}/{d}/{run_id('ijae', SEEDS[0], 'implicit', LAM)}"] + [
            f"{RUNS}/{d}/{run_id(m, SEEDS[0])}" for m in BASELINES[d] if m in runnable]
        artifacts = ("samples.npz", "reconstructions.npz", "metrics.json")
        if all(Path(f"{r}/{name}").is_file() for r in runs for name in artifacts):
            done.append(d)
    return done
