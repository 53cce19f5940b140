"""The speed options (ijae/accel.py): each Adam implementation and torch.compile train the same
model as the default path (up to rounding); CPU defaults leave the arithmetic untouched; the
CUDA graph path is checked on a GPU only."""
import numpy as np
import pytest
import torch

from ijae import accel, train as train_mod
from conftest import tiny_config


def losses_of(run):
    lines = (run / "losses.csv").read_text().splitlines()
    return np.array([[float(v) for v in ln.split(",")[1:]] for ln in lines[1:]])


def weights_of(run):
    return torch.load(run / "checkpoint.pt", weights_only=True)["model"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    run = tmp_path_factory.mktemp("reference") / "run"
    train_mod.train(tiny_config("train.steps=3"), run)
    return run


@pytest.mark.parametrize("impl", ["fused", "foreach", "plain"])
def test_every_adam_implementation_trains_the_same_model(tmp_path, reference, impl):
    run = tmp_path / impl
    train_mod.train(tiny_config("train.steps=3", f"train.adam_impl={impl}"), run)
    np.testing.assert_allclose(losses_of(run), losses_of(reference), rtol=1e-4, atol=1e-5)
    for key, value in weights_of(reference).items():
        torch.testing.assert_close(weights_of(run)[key], value, rtol=1e-4, atol=1e-5)


def test_configure_adam_sets_the_implementation_and_auto_keeps_cpu_defaults():
    def optimizers():
        return {"a": torch.optim.Adam([torch.nn.Parameter(torch.zeros(3))])}

    cpu = torch.device("cpu")
    opts = optimizers()
    assert accel.configure_adam(opts, "auto", cpu) == "default"
    assert opts["a"].param_groups[0]["fused"] is None and opts["a"].param_groups[0]["foreach"] is None
    for impl, fused, foreach in (("fused", True, False), ("foreach", False, True), ("plain", False, False)):
        opts = optimizers()
        accel.configure_adam(opts, impl, cpu, capturable=True)
        group = opts["a"].param_groups[0]
        assert (group["fused"], group["foreach"], group["capturable"]) == (fused, foreach, True), impl
    assert accel.configure_adam(optimizers(), "auto", torch.device("cuda")) == "fused"


def test_cpu_sampler_draws_what_the_resume_contract_relies_on():
    images = np.random.default_rng(0).integers(0, 256, (50, 4, 4, 3), dtype=np.uint8)
    sampler = accel.BatchSampler(images, 7, seed=11, device=torch.device("cpu"))
    generator = torch.Generator().manual_seed(11)
    for _ in range(3):
        idx = torch.randint(0, 50, (7,), generator=generator)
        expected = torch.from_numpy(images)[idx].permute(0, 3, 1, 2).float() / 127.5 - 1.0
        torch.testing.assert_close(sampler(), expected, rtol=0, atol=1e-6)
    assert sampler.generator.device.type == "cpu"


def test_cuda_graphs_on_cpu_train_eagerly_and_say_so(tmp_path, reference, capsys):
    run = tmp_path / "graphs"
    train_mod.train(tiny_config("train.steps=3", "train.cuda_graphs=true"), run)
    assert "cuda_graphs applies on CUDA only" in capsys.readouterr().err
    assert np.array_equal(losses_of(run), losses_of(reference))


def test_compiled_networks_train_like_eager_ones(tmp_path, reference, monkeypatch):
    """Dynamo traces every network (forward and backward through AOTAutograd) under the no_grad /
    requires_grad switches of the step. The inductor backend is left out: its code generation
    takes minutes on a CPU, and its own RNG draws other noise than eager mode."""
    if not hasattr(torch, "compile") or not torch._dynamo.is_dynamo_supported():
        pytest.skip("torch.compile is not supported on this platform / Python")
    monkeypatch.setattr(accel, "COMPILE_BACKEND", "aot_eager")
    from torch._dynamo.utils import counters

    counters.clear()
    run = tmp_path / "compiled"
    train_mod.train(tiny_config("train.steps=3", "train.compile=default"), run)
    assert counters["stats"]["unique_graphs"] >= 5       # every network went through dynamo
    np.testing.assert_allclose(losses_of(run), losses_of(reference), rtol=1e-3, atol=1e-4)
    assert weights_of(run).keys() == weights_of(reference).keys()   # checkpoints stay loadable


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA GPU")
@pytest.mark.parametrize("impl", ["fused", "plain"])
def test_cuda_graph_step_trains_like_the_eager_step(tmp_path, impl):
    common = ("train.steps=8", "train.device=cuda", f"train.adam_impl={impl}")
    eager, graphed = tmp_path / "eager", tmp_path / "graphed"
    train_mod.train(tiny_config(*common), eager)
    train_mod.train(tiny_config(*common, "train.cuda_graphs=true"), graphed)
    # Same seeds and data order: the replayed graph draws the same batches and noise.
    np.testing.assert_allclose(losses_of(graphed), losses_of(eager), rtol=1e-3, atol=1e-4)


def adam_flags(run):
    """Every saved Adam param group's (fused, foreach) flags, per optimizer."""
    state = torch.load(run / "checkpoint.pt", weights_only=True)["optimizers"]
    return {name: {(g.get("fused"), g.get("foreach")) for g in opt["param_groups"]}
            for name, opt in state.items()}


@pytest.mark.parametrize("first, then, expected", [("foreach", "plain", (False, False)),
                                                   ("plain", "foreach", (False, True))])
def test_a_changed_adam_impl_takes_effect_on_resume(tmp_path, first, then, expected):
    """train.adam_impl may change on resume (RESUMABLE_CHANGES); configured before the
    optimizers' state load, the checkpoint's flags came back and the change was silently lost
    (issue 35, found on the way)."""
    run = tmp_path / "run"
    train_mod.train(tiny_config("train.steps=2", f"train.adam_impl={first}"), run)
    train_mod.train(tiny_config("train.steps=4", f"train.adam_impl={then}"), run, resume=True)
    assert all(flags == {expected} for flags in adam_flags(run).values()), adam_flags(run)


def test_fused_and_capturable_steps_live_beside_their_parameters():
    """A checkpoint saved by a plain Adam (CPU step counters) resumed fused or under CUDA graphs
    (capturable): the counters move beside the parameters, where those implementations read them."""
    p = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.Adam([p])
    p.grad = torch.ones(3)
    opt.step()
    accel.configure_adam({"a": opt}, "plain", torch.device("cpu"), capturable=True)
    assert opt.param_groups[0]["capturable"] and opt.state[p]["step"].device == p.device
    accel.configure_adam({"a": opt}, "plain", torch.device("cpu"))
    assert not opt.param_groups[0]["capturable"] and opt.state[p]["step"].dtype == torch.float32


def test_training_runs_under_the_runs_device_context(tmp_path, monkeypatch):
    """train.device=cuda:N with CUDA graphs captured and replayed on cuda:0, the current device,
    while the model lived on cuda:N (issue 35): every step must run inside the run's device
    context. Checked on CPU by recording the context the step runs in."""
    entered, seen = [], []

    class Context:
        def __init__(self, device):
            self.device = device

        def __enter__(self):
            entered.append(self.device)

        def __exit__(self, *exc):
            entered.remove(self.device)

    real = accel.device_context
    monkeypatch.setattr(accel, "device_context", Context)
    build = train_mod.build_model

    def spying_build(*args, **kwargs):
        model = build(*args, **kwargs)
        step = model.train_step
        model.train_step = lambda *a, **k: (seen.append(list(entered)), step(*a, **k))[1]
        return model

    monkeypatch.setattr(train_mod, "build_model", spying_build)
    train_mod.train(tiny_config("train.steps=2"), tmp_path / "run")
    assert seen == [[torch.device("cpu")]] * 2
    assert isinstance(real(torch.device("cuda:1")), torch.cuda.device)   # CUDA: torch's own


def test_compile_reduce_overhead_with_cuda_graphs_is_refused_in_one_line():
    from ijae import config

    with pytest.raises(config.ConfigError, match="train.compile.*reduce-overhead makes CUDA graphs"):
        tiny_config("train.compile=reduce-overhead", "train.cuda_graphs=true")
    tiny_config("train.compile=default", "train.cuda_graphs=true")   # the other modes stay


def test_the_bench_times_compile_only_when_asked_and_bf16_where_the_cpu_has_it(monkeypatch):
    import importlib.util
    from conftest import REPO

    spec = importlib.util.spec_from_file_location("train_step", REPO / "bench" / "train_step.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    cuda = bench.variants_for(torch.device("cuda"), None, with_compile=False)
    assert not set(cuda) & bench.COMPILED and set(bench.COMPILED) <= set(
        bench.variants_for(torch.device("cuda"), None, with_compile=True))
    monkeypatch.setattr(accel, "cpu_bf16", lambda: (True, "CPU flag avx512_bf16"))
    assert "bf16" in bench.variants_for(torch.device("cpu"), None, with_compile=False)
    monkeypatch.setattr(accel, "cpu_bf16", lambda: (False, "no flag"))
    assert "bf16" not in bench.variants_for(torch.device("cpu"), None, with_compile=False)
