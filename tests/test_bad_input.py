"""Bad input through the command line (issue 11, item 10): each case ends in exit status 2 and
one line on stderr that names the offending file or value, never a traceback."""
from __future__ import annotations

import io
import shutil
import tarfile
import zipfile

import numpy as np
import pytest

from conftest import tiny_config
from ijae import config
from ijae.cli import main
from ijae.contract import CHECKPOINT, CONFIG, RECONSTRUCTIONS, SAMPLES


def run_cli(capsys, *argv: str) -> str:
    """``ijae argv``: assert exit status 2 and a single error line; return that line."""
    capsys.readouterr()
    try:
        status = main([str(a) for a in argv])
    except SystemExit as stop:  # argparse's own errors
        status = stop.code
    err = capsys.readouterr().err.strip()
    assert status == 2, err
    assert err and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny trained and exported run, copied by each test that spoils a part of it."""
    base = tmp_path_factory.mktemp("trained")
    (base / "tiny.yaml").write_text(config.dump(tiny_config("train.steps=2", "export.n_samples=8",
                                                            "export.n_reconstructions=8")))
    assert main(["train", str(base / "tiny.yaml"), "--out", str(base / "run")]) == 0
    assert main(["export", str(base / "run")]) == 0
    return base


@pytest.fixture
def run(trained, tmp_path):
    shutil.copytree(trained / "run", tmp_path / "run")
    return tmp_path / "run"


@pytest.fixture
def tiny_yaml(trained):
    return trained / "tiny.yaml"


# ---- configs -----------------------------------------------------------------------------------


def test_yaml_syntax_error_in_a_config_file_is_named(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  lam: [0.3\ntrain: {steps: 2}\n")
    line = run_cli(capsys, "train", bad, "--out", tmp_path / "run")
    assert str(bad) in line and "YAML" in line
    assert not (tmp_path / "run").exists()


def test_config_file_that_is_not_text_is_named(capsys, tmp_path):
    bad = tmp_path / "binary.yaml"
    bad.write_bytes(bytes(range(256)))
    line = run_cli(capsys, "train", bad, "--out", tmp_path / "run")
    assert str(bad) in line


def test_yaml_syntax_error_in_a_set_value_is_named(capsys, tiny_yaml, tmp_path):
    line = run_cli(capsys, "train", tiny_yaml, "--out", tmp_path / "run", "--set", "model.lam=[1")
    assert "model.lam=[1" in line and "YAML" in line


def test_out_pointing_at_a_file_is_named(capsys, tiny_yaml, tmp_path):
    taken = tmp_path / "a-file"
    taken.write_text("not a run folder")
    line = run_cli(capsys, "train", tiny_yaml, "--out", taken)
    assert str(taken) in line and "file" in line
    assert taken.read_text() == "not a run folder"


# ---- data.local_path ---------------------------------------------------------------------------


def _empty(path):
    path.write_bytes(b"")


def _random(path):
    path.write_bytes(np.random.default_rng(0).bytes(4096))


def _gzip_of_garbage(path):
    import gzip
    path.write_bytes(gzip.compress(b"not a tar archive at all" * 40))


@pytest.mark.parametrize("dataset,name", [("cifar10", "cifar-10-python.tar.gz"),
                                          ("tinyimagenet", "tiny-imagenet-200.zip")])
@pytest.mark.parametrize("spoil", [_empty, _random, _gzip_of_garbage])
def test_unreadable_archive_as_local_path_is_named(capsys, tiny_yaml, tmp_path, dataset, name, spoil):
    archive = tmp_path / name
    spoil(archive)
    line = run_cli(capsys, "train", tiny_yaml, "--out", tmp_path / "run", "--set", f"data.dataset={dataset}",
                   "--set", f"data.local_path={archive}", "--set", f"data.root={tmp_path / 'data'}")
    assert str(archive) in line and "archive" in line


@pytest.mark.parametrize("dataset", ["cifar10", "tinyimagenet"])
def test_empty_folder_as_local_path_says_what_it_lacks(capsys, tiny_yaml, tmp_path, dataset):
    folder = tmp_path / "empty"
    folder.mkdir()
    line = run_cli(capsys, "train", tiny_yaml, "--out", tmp_path / "run", "--set", f"data.dataset={dataset}",
                   "--set", f"data.local_path={folder}", "--set", f"data.root={tmp_path / 'data'}")
    assert str(folder) in line and "downloaded" not in line
    assert ("cifar-10-batches-py" if dataset == "cifar10" else "wnids.txt") in line


def test_archive_without_the_dataset_inside_is_named(capsys, tiny_yaml, tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("readme.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    line = run_cli(capsys, "train", tiny_yaml, "--out", tmp_path / "run", "--set", "data.dataset=cifar10",
                   "--set", f"data.local_path={archive}", "--set", f"data.root={tmp_path / 'data'}")
    assert str(archive) in line and "cifar-10-batches-py" in line


# ---- run folders -------------------------------------------------------------------------------


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.mark.parametrize("command", ["export", "resume"])
def test_truncated_checkpoint_is_named(capsys, run, tiny_yaml, command):
    _truncate(run / CHECKPOINT)
    if command == "export":
        line = run_cli(capsys, "export", run)
    else:
        line = run_cli(capsys, "train", tiny_yaml, "--out", run, "--resume", "--steps", "4")
    assert str(run / CHECKPOINT) in line


@pytest.mark.parametrize("command", ["export", "evaluate", "resume"])
@pytest.mark.parametrize("spoil", ["missing", "yaml", "not-a-mapping", "binary"])
def test_missing_or_corrupt_run_config_is_named(capsys, run, tiny_yaml, command, spoil):
    path = run / CONFIG
    if spoil == "missing":
        path.unlink()
    elif spoil == "yaml":
        path.write_text("model: {name: ijae\ndata: [")
    elif spoil == "not-a-mapping":
        path.write_text("- just\n- a list\n")
    else:
        path.write_bytes(b"\xff\xfe\x00garbage\x80")
    argv = {"evaluate": ["evaluate", run, "--backend", "digits", "--no-fid"],
            "export": ["export", run],
            # ijae train --resume compares the new config with the run's before anything else
            "resume": ["train", tiny_yaml, "--out", run, "--resume", "--steps", "4"]}[command]
    line = run_cli(capsys, *argv)
    assert str(path) in line
    if command == "resume":
        assert "cannot resume" in line and (run / CHECKPOINT).is_file()


@pytest.mark.parametrize("name", [SAMPLES, RECONSTRUCTIONS])
@pytest.mark.parametrize("spoil", ["truncated", "object-dtype", "not-npz"])
def test_truncated_or_object_npz_is_named(capsys, run, name, spoil):
    path = run / name
    if spoil == "truncated":
        _truncate(path)
    elif spoil == "not-npz":
        path.write_bytes(b"\x00" * 100)
    else:
        keys = ["images"] if name == SAMPLES else ["originals", "reconstructions"]
        with open(path, "wb") as handle:
            np.savez(handle, **{k: np.array([{"x": 1}], dtype=object) for k in keys})
    line = run_cli(capsys, "evaluate", run, "--backend", "digits", "--no-fid")
    assert str(path) in line


@pytest.mark.parametrize("value", ["-5", "0"])
def test_nonpositive_n_samples_is_named(capsys, run, value):
    line = run_cli(capsys, "export", run, "--n-samples", value)
    assert f"--n-samples {value}" in line


def test_object_npz_never_unpickles(tmp_path):
    """The contract's loader reads arrays with allow_pickle=False: an object array is refused, not
    unpickled (unpickling a downloaded or shared file could run code)."""
    from ijae.contract import ContractError, load_samples

    path = tmp_path / "samples.npz"
    np.savez(path, images=np.array([zipfile.ZipInfo("x")], dtype=object))
    with pytest.raises(ContractError, match="samples.npz"):
        load_samples(path)
