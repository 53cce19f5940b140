"""VAE (resnet) (baselines/vae.py): the negative ELBO against torch.distributions, the Gaussian
encoder built from lambda-IJAE's, the protocol methods."""
import contextlib
import math

import torch
import torch.distributions as D

from baselines import vae as vae_mod
from ijae import config
from ijae.nets import Encoder
from ijae.registry import get_adapter
from conftest import REPO, tiny_config


def small(**kw) -> vae_mod.VAE:
    torch.manual_seed(0)
    return vae_mod.VAE(vae_mod.VAEConfig(**{"latent_dim": 6, "width": 8, "sigma": 0.3, **kw}), 16)


def test_log_density_and_kl_equal_torch_distributions():
    g = torch.Generator().manual_seed(0)
    x, m = torch.randn(4, 3, 5, 5, generator=g), torch.randn(4, 3, 5, 5, generator=g)
    assert torch.allclose(vae_mod.gaussian_log_density(x, m, math.log(0.3)),
                          D.Normal(m, 0.3).log_prob(x).sum((1, 2, 3)), rtol=1e-5)
    mu, logvar = torch.randn(4, 7, generator=g), torch.randn(4, 7, generator=g)
    assert torch.allclose(vae_mod.kl_to_standard_normal(mu, logvar),
                          D.kl_divergence(D.Normal(mu, (0.5 * logvar).exp()), D.Normal(0.0, 1.0)).sum(1), rtol=1e-5)


def test_loss_is_the_negative_elbo():
    model = small()
    x = torch.rand(5, 3, 16, 16) * 2 - 1
    torch.manual_seed(1)
    got = model.losses(x)
    torch.manual_seed(1)
    q = model.posterior(x)
    z = q.rsample()
    p_x = D.Normal(model.nets["G"](z), 0.3)
    neg_elbo = (-p_x.log_prob(x).sum((1, 2, 3)) + D.kl_divergence(q, D.Normal(0.0, 1.0)).sum(1)).mean()
    assert torch.allclose(got["loss"], neg_elbo, rtol=1e-5)
    assert torch.allclose(got["loss"], got["recon_nll"] + got["kl"])


def test_gaussian_encoder_is_lambda_ijae_encoder_without_inject_noise():
    enc = vae_mod.GaussianEncoder(6, 8, 16).eval()
    plain = Encoder(12, 8, 16)
    noise = sum(p.numel() for n, p in plain.named_parameters() if n.startswith("noise"))
    assert noise > 0 and sum(p.numel() for p in enc.parameters()) == sum(p.numel() for p in plain.parameters()) - noise
    x = torch.rand(3, 3, 16, 16)
    mu, logvar = enc(x)
    assert mu.shape == logvar.shape == (3, 6)
    assert torch.equal(enc(x)[0], mu)            # explicit q(z|x): no injected noise


def test_train_step_updates_both_networks_and_reconstruct_modes():
    model = small()
    opts = model.make_optimizers(tiny_config().train)
    before = [p.detach().clone() for p in model.parameters()]
    data = torch.rand(16, 3, 16, 16) * 2 - 1
    out = model.train_step(lambda: data[:8], opts, contextlib.nullcontext)
    assert set(out) == set(model.loss_names)
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters()) if p.dim() > 1)
    model.eval()
    x = data[:4]
    model.cfg.reconstruct_with = "mean"
    assert torch.equal(model.reconstruct(x), model.nets["G"](model.nets["E"](x)[0]))
    model.cfg.reconstruct_with = "sample"
    assert not torch.equal(model.reconstruct(x), model.reconstruct(x))
    assert model.sample(3, torch.empty(0)).shape == (3, 3, 16, 16)


def test_presets_fit_the_profiles():
    adapter = get_adapter("vae")
    assert adapter.kind == "port (from paper)" and adapter.source is None
    paper = config.load(REPO / "config" / "paper.yaml", model="vae")
    default = config.load(REPO / "config" / "default.yaml", model="vae")
    assert (paper.model.latent_dim, paper.model.width, paper.train.steps) == (128, 128, 100_000)
    assert (default.model.latent_dim, default.model.width, default.train.steps) == (32, 32, 1200)
    assert (default.train.lr_g, default.train.betas, default.data.dataset) == (1e-3, [0.9, 0.999], "digits")
