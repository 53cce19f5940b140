"""Which models can run on this machine: the workflow's ``checkout`` job (``ijae checkout``).

An upstream baseline needs its authors' code. Where it is neither cloned nor given as a local
mirror, it is cloned now, at the pinned commit; when that fails (offline), the model is recorded
as unavailable, with the error, and the workflow leaves it out of the tables with a note. This
runs as a job, never while the workflow is parsed. The records (a JSON list) are read back by
:func:`read` and by ``ijae table1 --availability``.
"""
from __future__ import annotations

import json
from pathlib import Path

from ijae import UserError
from ijae.contract import atomic_write_text

MODEL, LABEL, AVAILABLE, REASON = "model", "label", "available", "reason"


def check(name: str) -> dict:
    """``{model, label, available, reason}`` for model ``name``, cloning its upstream if needed."""
    from ijae.registry import get_adapter

    adapter = get_adapter(name)
    reason = None
    if adapter.source is not None and adapter.unavailable_reason():
        try:
            adapter.source.checkout()
        except UserError as error:
            reason = str(error)
    return {MODEL: name, LABEL: adapter.label, AVAILABLE: reason is None, REASON: reason}


def write(models, out: str | Path) -> list[dict]:
    records = [check(name) for name in models]
    atomic_write_text(out, json.dumps(records, indent=2) + "\n")
    return records


def read(path: str | Path) -> list[dict]:
    path = Path(path)
    try:
        records = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"availability file {path} not found (make it with `ijae checkout`)") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(records, list) or not all(
            isinstance(r, dict) and {MODEL, LABEL, AVAILABLE, REASON} <= set(r) for r in records):
        raise UserError(f"{path}: expected a list of {{{MODEL}, {LABEL}, {AVAILABLE}, {REASON}}} "
                        "records, as `ijae checkout` writes")
    return records


def available(path: str | Path) -> list[str]:
    """The models of an availability file that can run here."""
    return [r[MODEL] for r in read(path) if r[AVAILABLE]]
