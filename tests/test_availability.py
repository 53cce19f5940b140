"""`ijae checkout`: which models can run here, and Table 1's notes about those that cannot."""
import json
from types import SimpleNamespace

import pandas as pd
import pytest

from ijae import UserError, availability, registry, report
from ijae.cli import main


def test_models_without_upstream_code_are_available(tmp_path, capsys):
    out = tmp_path / "available.json"
    assert main(["checkout", "ijae", "vae", "--out", str(out)]) == 0
    records = json.loads(out.read_text())
    assert [(r["model"], r["available"], r["reason"]) for r in records] == \
        [("ijae", True, None), ("vae", True, None)]
    assert records[1]["label"] == registry.get_adapter("vae").label
    assert "vae: available" in capsys.readouterr().err


class Offline:
    """An upstream source that has no clone and cannot be cloned."""
    checked_out = 0

    def checkout(self, cfg=None):
        Offline.checked_out += 1
        raise UserError("cannot reach https://example.invalid/repo (offline)")


def test_an_upstream_that_cannot_be_fetched_is_recorded_with_why(tmp_path, monkeypatch):
    real = registry.get_adapter
    fake = SimpleNamespace(name="far", label="Far-GAN", source=Offline(),
                           unavailable_reason=lambda cfg=None: "no clone")
    monkeypatch.setattr(registry, "get_adapter", lambda n: fake if n == "far" else real(n))
    out = tmp_path / "available.json"
    assert main(["checkout", "far", "ijae", "--out", str(out)]) == 0
    assert Offline.checked_out == 1                      # it tried to clone
    far, ijae = availability.read(out)
    assert (far["available"], far["reason"]) == (False, "cannot reach https://example.invalid/repo (offline)")
    assert ijae["available"] and availability.available(out) == ["ijae"]


def test_table_notes_say_which_models_are_left_out_and_why(tmp_path):
    from test_report import record

    metrics = tmp_path / "metrics.csv"
    pd.DataFrame([record(), record(model="vae", label="VAE", implementation="port")]).to_csv(
        metrics, index=False)
    avail = tmp_path / "available.json"
    avail.write_text(json.dumps([
        {"model": "vae", "label": "VAE", "available": True, "reason": None},
        {"model": "age", "label": "AGE", "available": False, "reason": "cannot reach github"},
        {"model": "svae", "label": "SVAE", "available": True, "reason": None}]))
    assert main(["table1", str(metrics), "--out", str(tmp_path / "t"), "--availability",
                 str(avail), "--note", "one seed"]) == 0
    md = (tmp_path / "t" / "table1.md").read_text()
    notes = [line for line in md.splitlines() if line.startswith("- ")]
    assert notes == ["- AGE (age) not run: its code cannot run here (cannot reach github)",
                     "- SVAE (svae) not run: no metric record",
                     "- one seed"]
    assert "| VAE [port] |" in md and "AGE |" not in md.split("\n- ")[0]


@pytest.mark.parametrize("text", ["not json", '{"model": "x"}', '[{"model": "x"}]'])
def test_a_bad_availability_file_is_named(tmp_path, text):
    path = tmp_path / "available.json"
    path.write_text(text)
    with pytest.raises(UserError, match="available.json"):
        availability.read(path)
    with pytest.raises(UserError, match="ijae checkout"):
        availability.read(tmp_path / "missing.json")
