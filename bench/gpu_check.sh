#!/usr/bin/env bash
# One check for a person with a GPU (about 5-8 minutes on an H100 / H200):
#   1. bench/train_step.py on the default and paper sizes (every variant that applies);
#   2. a paper-size lambda-IJAE run on synthetic data (train.cuda_graphs=true), SIGKILLed after its
#      first checkpoint, resumed with --resume, checked complete (step and losses.csv rows);
#   3. its export, and evaluate: IS / FID / LPIPS when Inception weights are available offline
#      (IJAE_INCEPTION_WEIGHTS; LPIPS trunk from IJAE_LPIPS_WEIGHTS), else said and skipped; and a
#      default-profile digits run trained, exported and evaluated with the offline digits backend;
#   4. a packed mini-sweep: one paper-size run alone, then several at once on the same device;
#      prints the throughput of the pack against the single run.
# Exits non-zero at the first failure. Summary JSON: results/bench/gpu_check-<device>.json.
#
#   bash bench/gpu_check.sh
#   GPU_CHECK_DEVICE=cpu GPU_CHECK_SMALL=1 bash bench/gpu_check.sh   # tiny sizes, for a CPU try-out
#
# Env: GPU_CHECK_DEVICE (default cuda), GPU_CHECK_SMALL=1 (tiny networks and step counts; the
# summary then goes to a temporary folder unless GPU_CHECK_OUT is set), GPU_CHECK_PACK (runs in
# the packed sweep, default 4), GPU_CHECK_COMPILE=1 (also time torch.compile in the bench: adds
# minutes of compilation), GPU_CHECK_OUT (summary folder), PYTHON (default python).
set -euo pipefail
cd "$(dirname "$0")/.."

DEVICE=${GPU_CHECK_DEVICE:-cuda}
SMALL=${GPU_CHECK_SMALL:-0}
PACK=${GPU_CHECK_PACK:-4}
PY=${PYTHON:-python}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
if [[ "$SMALL" == 1 ]]; then OUT=${GPU_CHECK_OUT:-$WORK/out}; else OUT=${GPU_CHECK_OUT:-results/bench}; fi
mkdir -p "$OUT"
export IJAE_WORK=${IJAE_WORK:-$WORK/work}
START=$(date +%s)
pids=()
cleanup() { for p in "${pids[@]:-}"; do [[ -n "$p" ]] && kill -9 "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "gpu_check: FAILED: $*" >&2; exit 1; }
say() { echo "gpu_check: $*" >&2; }
now() { date +%s%N; }
ijae() { "$PY" -m ijae.cli "$@"; }

if [[ "$SMALL" == 1 ]]; then
  SIZE=(--set data.image_size=16 --set model.width=8 --set model.latent_dim=8 --set train.batch_size=16
        --set data.synthetic_train=96 --set data.synthetic_test=32)
  TRAIN_STEPS=120; CKPT=20; SWEEP_STEPS=40; DIGIT_STEPS=30; N_EXPORT=100; BENCH_STEPS=3
  BENCH=(--configs config/default.yaml --variants eager-fp32 --out "$WORK/bench")
else
  SIZE=()
  TRAIN_STEPS=1500; CKPT=250; SWEEP_STEPS=1000; DIGIT_STEPS=400; N_EXPORT=2000; BENCH_STEPS=30
  BENCH=(--configs config/default.yaml config/paper.yaml --out "$OUT")
  [[ "${GPU_CHECK_COMPILE:-0}" == 1 ]] && BENCH+=(--with-compile)
  if [[ "${GPU_CHECK_COMPILE:-0}" != 1 ]]; then
    BENCH+=(--variants eager-fp32 fused-adam bf16 channels-last bf16+channels-last fused+graphs
            fused+graphs+bf16 fused+graphs+channels-last fused+graphs+bf16+channels-last)
  fi
fi
PAPER=(config/paper.yaml --set data.dataset=synthetic --set train.device="$DEVICE"
       --set train.cuda_graphs=true --set train.log_every=50 "${SIZE[@]}")

# 1. the step benchmark ------------------------------------------------------------------------
say "1/4 bench/train_step.py on $DEVICE"
"$PY" bench/train_step.py --device "$DEVICE" --steps "$BENCH_STEPS" "${BENCH[@]}" > "$WORK/bench.json" \
  || fail "bench/train_step.py"

# 2. SIGKILL mid-run, then resume --------------------------------------------------------------
say "2/4 paper-size run on synthetic data: train, SIGKILL after the first checkpoint, resume"
RUN="$WORK/runs/paper-synthetic"
# not through the ijae() function: $! must be python's own pid, or SIGKILL hits a subshell
"$PY" -m ijae.cli train "${PAPER[@]}" --steps "$TRAIN_STEPS" --checkpoint-every "$CKPT" --out "$RUN" &
pid=$!; pids+=("$pid")
until [[ -f "$RUN/checkpoint.pt" ]]; do
  kill -0 "$pid" 2>/dev/null || fail "the training run ended before its first checkpoint"
  sleep 0.2
done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
KILLED_AT=$("$PY" -c "import torch,sys; print(torch.load(sys.argv[1], weights_only=True)['step'])" "$RUN/checkpoint.pt")
(( KILLED_AT < TRAIN_STEPS )) || fail "the run finished before the kill (step $KILLED_AT); raise TRAIN_STEPS"
say "killed at checkpoint step $KILLED_AT of $TRAIN_STEPS; resuming"
ijae train "${PAPER[@]}" --steps "$TRAIN_STEPS" --checkpoint-every "$CKPT" --out "$RUN" --resume \
  || fail "resume of a SIGKILLed run"
"$PY" - "$RUN" "$TRAIN_STEPS" <<'EOF' || fail "the resumed run is incomplete"
import sys, torch
from pathlib import Path
run, steps = Path(sys.argv[1]), int(sys.argv[2])
state = torch.load(run / "checkpoint.pt", weights_only=True)
rows = (run / "losses.csv").read_text().splitlines()[1:]
assert state["step"] == steps, f"checkpoint at step {state['step']}, expected {steps}"
assert [int(r.split(",")[0]) for r in rows] == list(range(1, steps + 1)), "losses.csv steps"
EOF

# 3. export and evaluate ------------------------------------------------------------------------
say "3/4 export and evaluate"
ijae export "$RUN" --n-samples "$N_EXPORT" --device "$DEVICE" || fail "export of the resumed run"
EVAL_SYNTHETIC="skipped: no Inception weights offline (set IJAE_INCEPTION_WEIGHTS to a torch-fidelity weights file)"
if [[ -n "${IJAE_INCEPTION_WEIGHTS:-}" ]]; then
  ijae evaluate "$RUN" --backend inception --device "$DEVICE" --lpips-weights "${IJAE_LPIPS_WEIGHTS:-random}" \
    > "$WORK/eval-synthetic.json" || fail "evaluate (inception) of the resumed run"
  EVAL_SYNTHETIC="$WORK/eval-synthetic.json"
else
  say "IS / FID of the synthetic run $EVAL_SYNTHETIC"
fi
DIGITS="$WORK/runs/digits"
ijae train config/default.yaml --set train.device="$DEVICE" --steps "$DIGIT_STEPS" --checkpoint-every "$DIGIT_STEPS" \
  --out "$DIGITS" || fail "train (digits)"
ijae export "$DIGITS" --n-samples "$N_EXPORT" --device "$DEVICE" || fail "export (digits)"
ijae evaluate "$DIGITS" --backend digits --device "$DEVICE" > "$WORK/eval-digits.json" || fail "evaluate (digits)"

# 4. packed mini-sweep --------------------------------------------------------------------------
say "4/4 packed sweep: 1 run alone, then $PACK at once"
sweep() {  # sweep N TAG: N runs at once, prints the wall seconds
  local n=$1 tag=$2 t0 ps=() i
  t0=$(now)
  for ((i = 0; i < n; i++)); do
    "$PY" -m ijae.cli train "${PAPER[@]}" --set model.lam=0.$((i + 1)) --steps "$SWEEP_STEPS" \
      --checkpoint-every "$SWEEP_STEPS" --out "$WORK/sweep-$tag/$i" 2>"$WORK/sweep-$tag-$i.err" &
    ps+=($!); pids+=($!)
  done
  for p in "${ps[@]}"; do wait "$p" || { cat "$WORK"/sweep-"$tag"-*.err >&2; fail "a sweep run"; }; done
  echo $(( ($(now) - t0) / 1000000 ))   # milliseconds
}
ONE=$(sweep 1 one)
MANY=$(sweep "$PACK" pack)

# summary ---------------------------------------------------------------------------------------
"$PY" - "$WORK" "$OUT" "$DEVICE" "$KILLED_AT" "$TRAIN_STEPS" "$EVAL_SYNTHETIC" "$ONE" "$MANY" "$PACK" \
  "$SWEEP_STEPS" "$START" "$SMALL" <<'EOF' || fail "summary"
import json, re, sys, time
from pathlib import Path
import torch
from ijae.contract import atomic_write_text
work, out, device, killed, steps, eval_syn, one, many, pack, sweep_steps, start, small = sys.argv[1:]
bench = json.loads(Path(work, "bench.json").read_text())
name = bench["device_name"]
one, many, pack = float(one) / 1000, float(many) / 1000, int(pack)
record = {
    "device": device, "device_name": name, "torch": torch.__version__, "small": small == "1",
    "bench": [{k: c[k] for k in ("profile", "variant", "seconds_per_step", "speedup_vs_eager_fp32",
                                 "tflops_per_second", "peak_memory_bytes")} for c in bench["cases"]],
    "kill_and_resume": {"steps": int(steps), "killed_at_checkpoint": int(killed), "completed": True},
    "evaluate_synthetic": (json.loads(Path(eval_syn).read_text()) if eval_syn.startswith(work) else eval_syn),
    "evaluate_digits": json.loads(Path(work, "eval-digits.json").read_text()),
    "packed_sweep": {"runs": pack, "steps_each": int(sweep_steps), "one_run_seconds": round(one, 2),
                     "packed_seconds": round(many, 2),
                     "throughput_vs_one_run": round(pack * one / many, 3)},
    "wall_seconds": round(time.time() - float(start), 1),
}
slug = "cpu" if device == "cpu" else re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
path = Path(out) / f"gpu_check-{slug}.json"
atomic_write_text(path, json.dumps(record, indent=2) + "\n")
sweep = record["packed_sweep"]
print(f"gpu_check: OK on {name}: killed at step {killed} of {steps} and resumed; packed sweep "
      f"{pack} runs in {sweep['packed_seconds']} s vs one in {sweep['one_run_seconds']} s "
      f"({sweep['throughput_vs_one_run']}x throughput); {record['wall_seconds']} s in all -> {path}",
      file=sys.stderr)
EOF
