"""Mutation check of lambda-IJAE's losses (issue 9.5): break the method on purpose, one way at a
time, and check that the fast tests notice.

Exports a commit (default HEAD) into a temporary folder, runs the named tests there unmutated (they
must pass), then for each mutation edits one line of the copy, runs the tests with the copy first on
PYTHONPATH, records which tests fail, and restores the line. A mutation no test fails is "MISSED"
and the script exits 1. The working tree is never touched.

    python bench/mutations.py                     # HEAD, prints the table
    python bench/mutations.py --ref main --out docs/ablations/mutations.md
    python bench/mutations.py --only e f1 --list
"""
from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = ["tests/test_model_wiring.py", "tests/test_objective.py", "tests/test_nets.py"]
MODEL, OBJECTIVE, LIKELIHOODS, NETS = "ijae/model.py", "ijae/objective.py", "ijae/likelihoods.py", "ijae/nets.py"
NOTES = "<!-- notes -->"
GE_RECON = "        reconstruction = G(z_q)\n        return {"   # the G / E update's G(z_q)

# id: (what is broken, file, exact text, replacement); each text must occur exactly once.
MUTATIONS = {
    "a1": ("D_tau real/fake labels swapped (objective)", OBJECTIVE,
           "bce_discriminator_loss(shifted_logits, reconstructed_logits)",
           "bce_discriminator_loss(reconstructed_logits, shifted_logits)"),
    "a2": ("D_tau real/fake labels swapped (model)", MODEL,
           "d_tau_loss(D_tau(x, z_q, y_real), D_tau(x, z_q, y_fake))",
           "d_tau_loss(D_tau(x, z_q, y_fake), D_tau(x, z_q, y_real))"),
    "b1": ("D_zeta real/fake labels swapped (objective)", OBJECTIVE,
           "bce_discriminator_loss(prior_logits, posterior_logits)",
           "bce_discriminator_loss(posterior_logits, prior_logits)"),
    "b2": ("D_zeta real/fake labels swapped (model)", MODEL,
           "d_zeta_loss(D_zeta(x, self.prior(n, x)), D_zeta(x, z_q))",
           "d_zeta_loss(D_zeta(x, z_q), D_zeta(x, self.prior(n, x)))"),
    "c1": ("D_psi real/fake labels swapped (objective)", OBJECTIVE,
           "bce_discriminator_loss(data_logits, generated_logits)",
           "bce_discriminator_loss(generated_logits, data_logits)"),
    "c2": ("D_psi real/fake labels swapped (model)", MODEL,
           'd_psi_loss(self.nets["D_psi"](x), self.nets["D_psi"](generated))',
           'd_psi_loss(self.nets["D_psi"](generated), self.nets["D_psi"](x))'),
    "d1": ("D_tau fed (y, y) in the discriminator update", MODEL,
           "D_tau(x, z_q, y_real), D_tau(x, z_q, y_fake)",
           "D_tau(y_real, z_q, y_real), D_tau(y_fake, z_q, y_fake)"),
    "d2": ("D_tau fed (y, y) in the G / E reconstruction term", MODEL,
           'self.nets["D_tau"](x, z_q, reconstruction)',
           'self.nets["D_tau"](reconstruction, z_q, reconstruction)'),
    "e": ("encoder cut off from G: G(z_q.detach()) in the G / E update", MODEL,
          GE_RECON, GE_RECON.replace("G(z_q)", "G(z_q.detach())")),
    "f1": ("real pair without shift: y_real = x", MODEL, "y_real = self.r(x)", "y_real = x"),
    "f2": ("r(y|x) = delta(x): the sampler returns x", LIKELIHOODS,
           "return lambda x: random_shift(x, max_shift, fill)", "return lambda x: x"),
    "g1": ("fake pair: D_tau(x, z_prior, G(z_q)) in the discriminator update", MODEL,
           "D_tau(x, z_q, y_fake)", "D_tau(x, self.prior(n, x), y_fake)"),
    "g2": ("fake pair: D_tau(x, z_q, G(another draw of E(x))) in the discriminator update", MODEL,
           "            reconstruction = G(z_q)", "            reconstruction = G(E(x))"),
    "g3": ("fake pair: D_tau(x, z_q, G(z_prior)) in the G / E update", MODEL,
           GE_RECON, GE_RECON.replace("G(z_q)", "G(self.prior(x.shape[0], x))")),
    "g4": ("fake pair: D_tau(x, another draw of E(x), G(z_q)) in the G / E update", MODEL,
           "self.recon_term(x, z_q, reconstruction)", "self.recon_term(x, E(x), reconstruction)"),
    "h1": ("D_tau ignores z: its last layer sees 0 * z", NETS,
           "self.fc(torch.cat([h, z], dim=1))", "self.fc(torch.cat([h, 0 * z], dim=1))"),
    "h2": ("encoder cut off from D_tau's z input: D_tau(x, z_q.detach(), G(z_q)) in the G / E update",
           MODEL, 'self.nets["D_tau"](x, z_q, reconstruction)',
           'self.nets["D_tau"](x, z_q.detach(), reconstruction)'),
    "h3": ("side-by-side pairing joins x and y along the height (3 x 2H x W)", NETS,
           'dim=1 if self.pairing == "stack" else 3', 'dim=1 if self.pairing == "stack" else 2'),
}


def export(ref: str, dest: Path) -> None:
    """The tracked files of ``ref`` (git archive), so uncommitted edits elsewhere don't leak in."""
    data = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", ref],
                          check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")


def run_tests(copy: Path, tests: list[str]) -> tuple[int, list[str], float]:
    """(exit code, failed test ids, seconds) of pytest on ``tests`` in ``copy``."""
    env = {**os.environ, "PYTHONPATH": str(copy), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", *tests],
                          cwd=copy, env=env, capture_output=True, text=True)
    failed = re.findall(r"^FAILED (\S+)", proc.stdout, flags=re.M)
    return proc.returncode, [f.split("/")[-1] for f in failed], time.perf_counter() - start


def imported_from(copy: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run([sys.executable, "-c", "import ijae; print(ijae.__file__)"], cwd=copy,
                          env=env, capture_output=True, text=True, check=True).stdout.strip()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="HEAD", help="the commit to mutate (default HEAD)")
    ap.add_argument("--tests", nargs="+", default=TESTS)
    ap.add_argument("--only", nargs="+", choices=sorted(MUTATIONS), help="these mutations only")
    ap.add_argument("--out", type=Path, help="also write the markdown table here")
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = ap.parse_args(argv)
    chosen = args.only or list(MUTATIONS)
    if args.list:
        for key in chosen:
            print(f"{key:3s} {MUTATIONS[key][0]}  ({MUTATIONS[key][1]})")
        return 0

    with tempfile.TemporaryDirectory(prefix="ijae-mut-") as tmp:
        copy = Path(tmp)
        export(args.ref, copy)
        if not imported_from(copy).startswith(str(copy)):
            raise SystemExit("the copy's ijae is not the one imported; check PYTHONPATH handling")
        code, failed, seconds = run_tests(copy, args.tests)
        if code != 0:
            raise SystemExit(f"the unmutated tests fail ({failed}); fix them before checking mutations")
        rows = [("none", "unmutated", "passes", f"{seconds:.1f}", "")]
        for key in chosen:
            what, rel, old, new = MUTATIONS[key]
            path = copy / rel
            original = path.read_text()
            if original.count(old) != 1:
                raise SystemExit(f"mutation {key}: {old!r} occurs {original.count(old)} times in {rel}")
            path.write_text(original.replace(old, new))
            try:
                code, failed, seconds = run_tests(copy, args.tests)
            finally:
                path.write_text(original)
            verdict = "caught" if code == 1 and failed else ("MISSED" if code == 0 else f"error rc={code}")
            rows.append((key, what, verdict, f"{seconds:.1f}", ", ".join(failed)))
            print(f"{key:3s} {verdict:8s} {what}", file=sys.stderr)

    table = ["| id | mutation | result | s | failing tests |", "| --- | --- | --- | --- | --- |"]
    table += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    text = "\n".join(table) + "\n"
    print(text)
    if args.out:
        head = (f"# Mutation check (issue 9.5)\n\nMade by `python bench/mutations.py --out {args.out}` "
                f"on {args.ref}; tests: {' '.join(args.tests)}. Each row breaks one line of the method "
                "in a temporary copy; 'caught' means at least one test failed.\n\n")
        notes = ""                       # hand-written notes below NOTES survive a rerun
        if args.out.is_file() and NOTES in args.out.read_text():
            notes = "\n" + NOTES + args.out.read_text().split(NOTES, 1)[1]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(head + text + notes)
    return 0 if all(row[2] in ("caught", "passes") for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
