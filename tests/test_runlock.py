"""One process per run folder: train, export and evaluate refuse a folder another process holds,
naming its pid, and a SIGKILLed holder leaves no stale lock."""
import signal
import subprocess
import sys
import time

import pytest

from ijae import config, runlock
from conftest import tiny_config


def ijae(*args):
    return subprocess.Popen([sys.executable, "-m", "ijae.cli", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_holder(run, proc, timeout=300):
    deadline = time.time() + timeout
    lock = run / runlock.LOCK
    while not (lock.is_file() and lock.read_text().startswith(f"{proc.pid} ")):
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read()[-2000:]
        time.sleep(0.01)


def test_a_second_process_fails_at_once_naming_the_holder_and_a_kill_releases(tmp_path):
    cfg_file = tmp_path / "tiny.yaml"
    cfg_file.write_text(config.dump(tiny_config("train.steps=100000", "train.checkpoint_every=1000")))
    run = tmp_path / "run"
    holder = ijae("train", cfg_file, "--out", run)
    try:
        wait_for_holder(run, holder)
        for args in (("train", cfg_file, "--out", run, "--resume"), ("export", run), ("evaluate", run)):
            second = ijae(*args)
            _, err = second.communicate(timeout=120)
            assert second.returncode == 2, (args, err)
            assert f"is in use by pid {holder.pid} (ijae train)" in err, (args, err)
            assert len(err.strip().splitlines()) == 1, err
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with runlock.hold(run, "test"):                  # the OS dropped the killed holder's lock
        assert (run / runlock.LOCK).read_text().split()[0] != str(holder.pid)


def test_lock_is_exclusive_within_the_library_too(tmp_path):
    with runlock.hold(tmp_path, "first"):
        with pytest.raises(runlock.RunLockedError, match=r"pid \d+ \(ijae first\)"):
            with runlock.hold(tmp_path, "second"):
                pass
    with runlock.hold(tmp_path, "third"):           # released on exit
        pass


def test_a_file_or_missing_folder_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(runlock.UserError, match="is a file, not a run folder"):
        with runlock.hold(tmp_path / "file", "train", create=True):
            pass
    with pytest.raises(runlock.UserError, match="does not exist"):
        with runlock.hold(tmp_path / "missing", "export"):
            pass
