"""SVAE (baselines/svae.py): the log-ratio discriminator and symmetric-KL estimate against closed
forms, the data-fit terms against torch.distributions, where each update's gradients go."""
import math

import torch
import torch.distributions as D

from baselines import svae as svae_mod


def small(**kw) -> svae_mod.SVAE:
    torch.manual_seed(0)
    return svae_mod.SVAE(svae_mod.SVAEConfig(**{"latent_dim": 6, "width": 8, "sigma": 0.5, "lam": 0.7, **kw}), 16)


def test_discriminator_optimum_is_the_log_ratio_and_gives_the_symmetric_kl():
    q, p = D.Normal(0.0, 1.0), D.Normal(1.0, 1.5)
    torch.manual_seed(0)
    xq, xp = q.sample((20000,)), p.sample((20000,))
    # f(x) = a + b x + c x^2 holds log q / p exactly; fit it by the discriminator's loss
    theta = torch.zeros(3, requires_grad=True)
    f = lambda x: theta[0] + theta[1] * x + theta[2] * x ** 2  # noqa: E731
    opt = torch.optim.LBFGS([theta], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = svae_mod.discriminator_loss(f(xq), f(xp))
        loss.backward()
        return loss

    opt.step(closure)
    grid = torch.linspace(-2, 2, 9)
    assert torch.allclose(f(grid).detach(), q.log_prob(grid) - p.log_prob(grid), atol=0.1)
    # with the exact log-ratio the estimate is KL(q || p) + KL(p || q)
    exact = D.kl_divergence(q, p) + D.kl_divergence(p, q)
    log_ratio = lambda x: q.log_prob(x) - p.log_prob(x)  # noqa: E731
    torch.manual_seed(1)
    big_q, big_p = q.sample((400000,)), p.sample((400000,))
    est = svae_mod.symmetric_kl_estimate(log_ratio(big_q), log_ratio(big_p))
    assert abs(est.item() - exact.item()) < 0.02


def test_encoder_decoder_loss_terms_equal_explicit_densities():
    model = small()
    x = torch.rand(5, 3, 16, 16) * 2 - 1
    torch.manual_seed(4)
    got = model.encoder_decoder_losses(x)
    torch.manual_seed(4)
    mu, logvar = model.nets["E"](x)
    z_q = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
    log_px = D.Normal(model.nets["G"](z_q), 0.5).log_prob(x).sum((1, 2, 3)).mean()
    z_p = torch.randn(5, 6)
    x_p = model.nets["G"](z_p)
    mu_p, logvar_p = model.nets["E"](x_p)
    log_qz = D.Normal(mu_p, (0.5 * logvar_p).exp()).log_prob(z_p).sum(1).mean()
    sym = model.nets["D"](x, z_q).mean() - model.nets["D"](x_p, z_p).mean()
    assert torch.allclose(got["log_px"], log_px, rtol=1e-5)
    assert torch.allclose(got["log_qz"], log_qz, rtol=1e-5)
    assert torch.allclose(got["sym_kl"], sym, rtol=1e-5, atol=1e-6)
    assert torch.allclose(got["loss"], sym - 0.7 * (log_px + log_qz), rtol=1e-5)


def test_gradients_go_where_each_update_says():
    model = small()
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    model.discriminator_losses(x)["d_loss"].backward()
    assert all(p.grad is None for n in ("E", "G") for p in model.nets[n].parameters())
    assert all(p.grad is not None for p in model.nets["D"].parameters())
    model.zero_grad(set_to_none=True)
    # the symmetric-KL term alone reaches E (through z ~ q(z|x)) and G (through x = G(z))
    model.nets["D"].requires_grad_(False)
    model.encoder_decoder_losses(x)["sym_kl"].backward()
    assert model.nets["E"].fc.weight.grad.abs().sum() > 0
    assert model.nets["G"].fc.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.nets["D"].parameters())


def test_train_step_and_outputs():
    import contextlib
    from conftest import tiny_config

    model = small()
    opts = model.make_optimizers(tiny_config().train)
    data = torch.rand(16, 3, 16, 16) * 2 - 1
    out = model.train_step(lambda: data[torch.randint(0, 16, (8,))], opts, contextlib.nullcontext, d_steps=2)
    assert set(out) == set(model.loss_names) and all(math.isfinite(v.item()) for v in out.values())
    assert all(p.requires_grad is False for p in model.nets["D"].parameters())
    model.eval()
    assert model.sample(3, torch.empty(0)).shape == (3, 3, 16, 16)
    model.cfg.reconstruct_with = "mean"
    assert torch.equal(model.reconstruct(data[:2]), model.nets["G"](model.nets["E"](data[:2])[0]))
