"""2Stage-VAE port (baselines/twostage.py): losses against closed forms, TF 'SAME' layers, the
two-stage schedule held in the model, frozen stage 1, exact resume."""
import contextlib
import math

import pytest
import torch
import torch.distributions as D

from baselines import twostage as ts
from baselines import twostage_nets as nets
from ijae import train as train_mod
from ijae.contract import CHECKPOINT
from conftest import adapter_config, assert_same_run, tiny_config


def small_cfg(**kw) -> ts.TwoStageVAEConfig:
    base = dict(latent_dim=4, second_dim=16, second_depth=2, base_dim=4, fc_dim=8, num_scale=3,
                stage1_steps=2, lr=1e-3, lr_steps=100, lr2=1e-3, lr_steps2=100)
    return ts.TwoStageVAEConfig(**{**base, **kw})


def test_kl_and_gen_losses_equal_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logsd = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g) * 0.3
    sd = logsd.exp()
    kl = D.kl_divergence(D.Normal(mu, sd), D.Normal(0.0, 1.0)).sum(1).mean()
    assert torch.allclose(ts.kl_loss(mu, sd, logsd), kl, atol=1e-5)

    x, x_hat = torch.rand(5, 3, 4, 4, generator=g), torch.rand(5, 3, 4, 4, generator=g)
    loggamma = torch.tensor(-1.3)
    nll = -D.Normal(x_hat, loggamma.exp()).log_prob(x).sum((1, 2, 3)).mean()
    assert torch.allclose(ts.gen_loss(x, x_hat, loggamma), nll, rtol=1e-6)
    # at x_hat = x only the normaliser is left: D (log gamma + log(2 pi) / 2)
    assert torch.allclose(ts.gen_loss(x, x, loggamma), torch.tensor(48 * (-1.3 + 0.5 * math.log(2 * math.pi))))


@pytest.mark.parametrize("network", ["infogan", "resnet"])
def test_stage1_loss_is_the_gaussian_negative_elbo_with_learned_gamma(network):
    torch.manual_seed(0)
    model = ts.TwoStageVAE(small_cfg(network=network), 16).eval()
    with torch.no_grad():
        model.nets["dec1"].loggamma.fill_(-0.7)
    x = torch.rand(6, 3, 16, 16) * 2 - 1
    torch.manual_seed(1)
    got = model.stage1_losses(x)
    # independently: x in [0, 1]; q(z|x) = N(mu, sd); one draw of z; p(x|z) = N(x_hat(z), gamma^2)
    torch.manual_seed(1)
    x01 = (x + 1) / 2
    mu, sd, _ = model.nets["enc1"](x01)
    z = mu + torch.randn_like(mu) * sd
    q, p_x = D.Normal(mu, sd), D.Normal(model.nets["dec1"](z), math.exp(-0.7))
    neg_elbo = (D.kl_divergence(q, D.Normal(0.0, 1.0)).sum(1) - p_x.log_prob(x01).sum((1, 2, 3))).mean()
    assert torch.allclose(got["loss"], neg_elbo, rtol=1e-5)
    assert torch.allclose(got["gamma"], torch.tensor(math.exp(-0.7)))


def test_stage2_loss_is_the_gaussian_negative_elbo_on_latents():
    torch.manual_seed(0)
    model = ts.TwoStageVAE(small_cfg(), 16)
    z = torch.randn(6, 4)
    torch.manual_seed(2)
    got = model.stage2_losses(z)
    torch.manual_seed(2)
    mu, sd, _ = model.nets["enc2"](z)
    u = mu + sd * torch.randn_like(mu)
    gamma = model.nets["dec2"].loggamma.exp()
    neg_elbo = (D.kl_divergence(D.Normal(mu, sd), D.Normal(0.0, 1.0)).sum(1)
                - D.Normal(model.nets["dec2"](u), gamma).log_prob(z).sum(1)).mean()
    assert torch.allclose(got["loss"], neg_elbo, rtol=1e-5)


def test_second_stage_mlp_matches_the_repo_shape():
    enc, dec = nets.SecondEncoder(64, 1024, 3), nets.SecondDecoder(64, 1024, 3)
    # 64 -> 1024 -> 1024 -> 1024, heads on concat([input, t]) (1088 -> 64), plus log gamma_z
    fcs = (64 * 1024 + 1024) + 2 * (1024 * 1024 + 1024)
    assert sum(p.numel() for p in enc.parameters()) == fcs + 2 * (1088 * 64 + 64)
    assert sum(p.numel() for p in dec.parameters()) == fcs + (1088 * 64 + 64) + 1


def test_infogan_weights_match_the_repo_layer_list():
    # at 32x32, latent 64 (two_stage_vae_model.py Infogan): conv 3->64 4x4, conv 64->128 4x4, BN,
    # fc 8192->1024, BN, fc 1024->128 | fc 64->1024, BN, fc 1024->8192, BN, deconv 128->64, BN, deconv 64->3
    enc, dec = nets.InfoganEncoder(64, 32), nets.InfoganDecoder(64, 32)
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(enc) == (3 * 64 * 16 + 64) + (64 * 128 * 16 + 128) + 256 + (8192 * 1024 + 1024) + 2048 + (1024 * 128 + 128)
    assert n(dec) == ((64 * 1024 + 1024) + 2048 + (1024 * 8192 + 8192) + 2 * 8192 + (128 * 64 * 16 + 64) + 128
                      + (64 * 3 * 16 + 3) + 1)
    assert enc(torch.rand(2, 3, 32, 32))[0].shape == (2, 64)
    assert dec(torch.randn(2, 64)).shape == (2, 3, 32, 32)


@pytest.mark.parametrize("shape", [(8, 3, 5, 5), (8, 3)])
def test_batch_norm_moving_averages_are_zero_debiased_as_in_tensorflow(shape):
    """util.batch_norm's assign_moving_average(zero_debias=True), by hand: after k updates with
    decay d the moving statistic is EMA_k / (1 - d^k), EMA_k = sum_i (1 - d) d^(k-i) stat_i from
    EMA_0 = 0 (the initial 0 / 1 never enter); variance is the biased batch variance."""
    torch.manual_seed(0)
    bn = nets.bn2d(3) if len(shape) == 4 else nets.bn1d(3)
    d = nets.BN_DECAY
    dims = [0, 2, 3] if len(shape) == 4 else [0]
    ema_mean = torch.zeros(3, dtype=torch.float64)
    ema_var = torch.zeros(3, dtype=torch.float64)
    for k in range(1, 6):
        x = torch.randn(shape) * (k + 1) + 3 * k
        y = bn.train()(x)
        xd = x.double()
        mean, var = xd.mean(dims), xd.var(dims, unbiased=False)
        ema_mean = d * ema_mean + (1 - d) * mean
        ema_var = d * ema_var + (1 - d) * var
        assert torch.allclose(bn.running_mean.double(), ema_mean / (1 - d ** k), rtol=1e-4)
        assert torch.allclose(bn.running_var.double(), ema_var / (1 - d ** k), rtol=1e-4)
        view = (1, -1, 1, 1) if len(shape) == 4 else (1, -1)
        expect = (xd - mean.view(view)) / (var.view(view) + nets.BN_EPS).sqrt()   # batch statistics
        assert torch.allclose(y.double(), expect, atol=1e-4)
    # after one update the average is that batch's statistic (PyTorch's BatchNorm: 0.999 of the init)
    first = nets.bn1d(3).train()
    x = torch.randn(16, 3) * 2 + 5
    first(x)
    assert torch.allclose(first.running_mean, x.mean(0), rtol=1e-4)
    assert torch.allclose(first.running_var, x.var(0, unbiased=False), rtol=1e-4)
    # eval mode normalises with the debiased averages, with gamma / beta
    with torch.no_grad():
        first.weight.fill_(2.0), first.bias.fill_(0.5)
    z = torch.randn(4, 3)
    assert torch.allclose(first.eval()(z), (z - x.mean(0)) / (x.var(0, unbiased=False) + nets.BN_EPS).sqrt()
                          * 2.0 + 0.5, atol=1e-4)


@pytest.mark.parametrize("k", [3, 4, 5])
def test_same_transposed_conv_is_the_adjoint_of_the_same_strided_conv(k):
    """TF's conv2d_transpose(SAME) is the gradient of conv2d(SAME): <conv x, y> = <x, conv^T y>."""
    torch.manual_seed(0)
    conv, convt = nets.SameConv(3, 5, k, stride=2), nets.SameConvTranspose(5, 3, k, 2)
    with torch.no_grad():
        convt.weight.copy_(conv.weight)
        conv.bias.zero_()
        convt.bias.zero_()
    x, y = torch.randn(2, 3, 8, 8), torch.randn(2, 5, 4, 4)
    assert conv(x).shape == y.shape and convt(y).shape == x.shape
    assert torch.allclose((conv(x) * y).sum(), (x * convt(y)).sum(), atol=1e-4)


def test_resnet_networks_map_the_image_size():
    cfg = small_cfg(network="resnet", num_scale=4)
    enc, dec = nets.ResnetEncoder(cfg, 16), nets.ResnetDecoder(cfg, 16)
    mu, sd, logsd = enc(torch.rand(3, 3, 16, 16))
    assert mu.shape == sd.shape == (3, 4) and torch.allclose(sd.log(), logsd)
    out = dec(torch.randn(3, 4))
    assert out.shape == (3, 3, 16, 16) and out.min() >= 0 and out.max() <= 1


def test_schedule_stages_and_halving():
    model = ts.TwoStageVAE(small_cfg(stage1_steps=3, lr=1.0, lr_steps=2, lr_fac=0.5, lr2=0.1,
                                     lr_steps2=1, lr_fac2=0.5), 16)
    assert [model.stage_at(s) for s in range(6)] == [1, 1, 1, 2, 2, 2]
    assert [model.lr_at(s) for s in range(6)] == [1.0, 1.0, 0.5, 0.1, 0.05, 0.025]


def _states(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_switches_at_stage1_steps_and_freezes_stage1():
    torch.manual_seed(0)
    model = ts.TwoStageVAE(small_cfg(stage1_steps=2), 16)
    opts = model.make_optimizers(tiny_config().train)
    data = torch.rand(32, 3, 16, 16) * 2 - 1
    batch = lambda: data[torch.randint(0, 32, (8,))]  # noqa: E731
    model.train()
    stages = []
    for _ in range(4):
        before = _states(model)
        out = model.train_step(batch, opts, contextlib.nullcontext)
        after = _states(model)
        stages.append(int(out["stage"]))
        changed = {k.split(".")[1] for k in before if k.startswith("nets.") and not torch.equal(before[k], after[k])}
        if stages[-1] == 1:
            assert changed == {"enc1", "dec1"}
        else:  # stage 1's weights, BN statistics and spectral-norm vectors all stay put
            assert changed == {"enc2", "dec2"}
            assert not model.nets["enc1"].training and not model.nets["dec1"].training
    assert stages == [1, 1, 2, 2] and int(model.steps_done) == 4
    assert all(g["lr"] == 1e-3 for g in opts["enc2"].param_groups)


def test_sample_is_stage2_decoder_plus_gamma_z_noise_into_the_stage1_mean():
    torch.manual_seed(0)
    model = ts.TwoStageVAE(small_cfg(), 16).eval()
    like = torch.empty(0)
    torch.manual_seed(3)
    got = model.sample(5, like)
    torch.manual_seed(3)
    u = torch.randn(5, 4)
    z = model.nets["dec2"](u) + model.nets["dec2"].loggamma.exp() * torch.randn(5, 4)
    assert torch.allclose(got, model.nets["dec1"](z) * 2 - 1)
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    model.cfg.reconstruct_with = "mean"
    mu = model.nets["enc1"]((x + 1) / 2)[0]
    assert torch.allclose(model.reconstruct(x), model.nets["dec1"](mu) * 2 - 1)


def run_config(steps: int):
    return adapter_config("twostage", f"train.steps={steps}", "train.checkpoint_every=2", "train.batch_size=8",
                          "model.stage1_steps=2", "model.second_dim=16", "model.latent_dim=4")


def test_resume_across_the_stage_switch_is_exact(tmp_path):
    train_mod.train(run_config(4), tmp_path / "whole")
    train_mod.train(run_config(2), tmp_path / "split")
    train_mod.train(run_config(4), tmp_path / "split", resume=True)
    whole = torch.load(tmp_path / "whole" / CHECKPOINT, weights_only=True)
    assert int(whole["model"]["steps_done"]) == 4
    assert_same_run(tmp_path / "whole", tmp_path / "split", step=4)
