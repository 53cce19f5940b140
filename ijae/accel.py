"""The training loop's speed options (``train.*``): batch sampling, Adam's implementation,
torch.compile of the networks, and a CUDA graph of the whole step.

On CPU every default leaves the arithmetic exactly as before (torch's own Adam, indices from a
CPU generator), which keeps the bit-identical kill-and-resume. On CUDA the defaults avoid host
work per step: the data lives on the device, indices come from a CUDA generator, Adam is fused,
and nothing reads a value back (losses are flushed every ``train.log_every`` steps).

``train.cuda_graphs`` captures one whole step (discriminator updates, G / E update, optimiser
steps with capturable Adam, and the batch sampling) in a ``torch.cuda.CUDAGraph`` after a few
eager warm-up steps on a side stream, then replays it: one launch per step. It needs a step
without host-side branching on tensor values and without host-to-device copies, which
lambda-IJAE's step (ijae/model.py) is; models that do not declare ``graph_safe`` train eagerly.
"""
from __future__ import annotations

import sys

import numpy as np
import torch

WARMUP_STEPS = 3  # eager steps before capture: cuDNN autotuning, allocator, Adam state
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")   # native bf16 matrix units (Linux /proc/cpuinfo)


def device_context(device: torch.device):
    """``device`` as the current CUDA device for the block (side streams, graph capture and the
    caching allocator follow the current device, not the tensors'); nothing elsewhere."""
    import contextlib

    return torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()


def cpu_bf16() -> tuple[bool, str]:
    """(whether this CPU multiplies bf16 matrices natively, what says so): one of BF16_CPU_FLAGS
    among the processor's flags (AMX-BF16: Intel Sapphire Rapids and later; AVX512-BF16: also
    AMD Zen 4), and oneDNN in this torch build. Elsewhere bf16 autocast would emulate it,
    slower than float32."""
    if not torch.backends.mkldnn.is_available():
        return False, "this torch build has no oneDNN (mkldnn)"
    try:
        with open("/proc/cpuinfo") as handle:
            flags = {f for line in handle if line.startswith("flags") for f in line.split(":", 1)[1].split()}
    except OSError:
        return False, "no /proc/cpuinfo to read the CPU's flags from"
    found = [f for f in BF16_CPU_FLAGS if f in flags]
    return (True, f"CPU flag {found[0]}") if found else \
        (False, f"the CPU has none of the flags {', '.join(BF16_CPU_FLAGS)}")


def precision(bf16: bool, device: torch.device) -> tuple[str, str | None]:
    """(the precision a run trains in: "bf16 autocast" or "fp32", a one-line note when bf16 was
    asked for and cannot be had)."""
    if not bf16:
        return "fp32", None
    if device.type == "cuda":
        return "bf16 autocast", None
    if device.type == "cpu":
        native, why = cpu_bf16()
        if native:
            return "bf16 autocast", None
        return "fp32", f"train.bf16: no native bf16 matrix support ({why}); training in float32"
    return "fp32", f"train.bf16 applies on CUDA and bf16-capable CPUs, not {device.type}; training in float32"
COMPILE_BACKEND = "inductor"  # torch.compile's backend (tests use aot_eager: no code generation)


class BatchSampler:
    """Batches drawn i.i.d. from the train split (uint8 NHWC) with a dedicated generator, whose
    state is checkpointed. CPU: a CPU generator; CUDA: data and generator on the device."""

    def __init__(self, images: np.ndarray, batch_size: int, seed: int, device: torch.device,
                 memory_format=torch.contiguous_format):
        self.data = torch.from_numpy(images).to(device)
        self.batch_size, self.memory_format = batch_size, memory_format
        self.generator = torch.Generator(device=device if device.type == "cuda" else "cpu")
        self.generator.manual_seed(seed)

    def __call__(self) -> torch.Tensor:
        idx = torch.randint(0, self.data.shape[0], (self.batch_size,), generator=self.generator,
                            device=self.generator.device).to(self.data.device)
        x = self.data.index_select(0, idx).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
        return x.contiguous(memory_format=self.memory_format)


def configure_adam(optimizers: dict, impl: str, device: torch.device, capturable: bool = False) -> str:
    """Switch every Adam (and subclass) to ``impl``; call after any state load (a checkpoint's
    param groups carry the flags it was saved with, which load_state_dict restores: configured
    before it, a changed ``train.adam_impl`` or ``train.cuda_graphs`` would be lost on resume).
    auto: fused on CUDA, torch's default elsewhere. Returns the implementation in use."""
    if impl == "auto":
        impl = "fused" if device.type == "cuda" else "default"
    flags = {"fused": impl == "fused" if impl != "default" else None,
             "foreach": impl == "foreach" if impl != "default" else None, "capturable": capturable}
    for opt in optimizers.values():
        if isinstance(opt, torch.optim.Adam):
            for group in [opt.defaults, *opt.param_groups]:
                group.update(flags)
            _place_steps(opt, on_device=bool(flags["fused"]) or capturable)
    return impl


def _place_steps(opt: torch.optim.Optimizer, on_device: bool) -> None:
    """Adam's step counters where its implementation reads them: beside the parameter (fused,
    capturable) or on the CPU (the others), as float32 (what torch's Adam creates)."""
    for group in opt.param_groups:
        for p in group["params"]:
            state = opt.state.get(p)
            if state and torch.is_tensor(state.get("step")):
                where = p.device if on_device else torch.device("cpu")
                state["step"] = state["step"].to(device=where, dtype=torch.float32)


def networks(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The model's networks: its direct children, looking inside ModuleDict / ModuleList."""
    found = []
    for child in model.children():
        if isinstance(child, (torch.nn.ModuleDict, torch.nn.ModuleList)):
            found.extend(child.children())
        else:
            found.append(child)
    return found


def compile_networks(model: torch.nn.Module, mode: str) -> None:
    """torch.compile each network in place (state_dict keys unchanged, so checkpoints are too)."""
    if mode == "none":
        return
    for net in networks(model):
        net.compile(backend=COMPILE_BACKEND,
                    mode=None if mode == "default" or COMPILE_BACKEND != "inductor" else mode)


class GraphedStep:
    """``step()`` run eagerly for WARMUP_STEPS calls on a side stream, then captured once in a
    CUDA graph and replayed. Returns the step's loss tensors (static buffers on replay: read
    them, e.g. torch.stack, before the next call)."""

    def __init__(self, step, optimizers: dict, generators: list[torch.Generator]):
        self.step, self.optimizers, self.generators = step, optimizers, generators
        self.calls, self.graph, self.losses = 0, None, None
        self.side = torch.cuda.Stream()

    def __call__(self) -> dict[str, torch.Tensor]:
        if self.graph is not None:
            self.graph.replay()
            return self.losses
        if self.calls < WARMUP_STEPS:
            self.calls += 1
            self.side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self.side):
                losses = self.step()
            torch.cuda.current_stream().wait_stream(self.side)
            return losses
        for opt in self.optimizers.values():  # grads are then allocated from the graph's pool
            opt.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        for generator in self.generators:     # the default CUDA generator is registered already
            graph.register_generator_state(generator)
        with torch.cuda.graph(graph):
            self.losses = self.step()
        self.graph = graph
        graph.replay()                        # capture does not run the step: this is its first run
        return self.losses


def graphs_apply(model, device: torch.device, wanted: bool) -> bool:
    """Whether train.cuda_graphs takes effect for this model and device (says why not)."""
    if not wanted:
        return False
    if device.type != "cuda":
        print("ijae train: train.cuda_graphs applies on CUDA only; training eagerly", file=sys.stderr)
        return False
    if not getattr(model, "graph_safe", False):
        print(f"ijae train: {type(model).__name__}'s step is not declared CUDA-graph safe; "
              "training eagerly", file=sys.stderr)
        return False
    return True
