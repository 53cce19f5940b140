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
