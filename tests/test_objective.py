"""The objective: Theorem 1, the lambda convention of docs/paper-notes.md section 1, and who gets which gradient."""
import math

import pytest
import torch
import torch.nn as nn

from ijae import likelihoods, objective
from ijae.model import IJAE
from conftest import tiny_config


def grads(loss, params):
    params = list(params)
    out = torch.autograd.grad(loss, params, allow_unused=True, retain_graph=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(out, params)]


def flat(gs):
    return torch.cat([g.flatten() for g in gs])


def test_bce_on_logits_is_exact_and_stable():
    real, fake = torch.tensor([0.3, -1.2, 2.0]), torch.tensor([-0.5, 0.8, 1.5])
    naive = -(torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean())
    torch.testing.assert_close(objective.bce_discriminator_loss(real, fake), naive)
    extreme = objective.bce_discriminator_loss(torch.tensor([-200.0]), torch.tensor([200.0]))
    assert math.isfinite(extreme.item()) and extreme.item() == pytest.approx(400.0)


# ---- Theorem 1 ---------------------------------------------------------------------------------

class TinyGenerator(nn.Module):
    """A small differentiable G: z -> tanh(A z + b), shaped as 3x4x4 images."""

    def __init__(self, latent):
        super().__init__()
        self.fc = nn.Linear(latent, 48)

    def forward(self, z):
        return torch.tanh(self.fc(z)).view(-1, 3, 4, 4)


class OptimalPairDiscriminator(nn.Module):
    """D_tau* = r(y|x) / (r(y|x) + r'(y|G(z))) for Gaussian r, r' (both symmetric likelihoods);
    as in the theorem, the discriminator is a fixed function: no gradient flows into its G(z)."""

    def __init__(self, generator, s, s_prime):
        super().__init__()
        self.generator, self.s, self.s_prime = [generator], s, s_prime

    def forward(self, x, z, y):
        a = self.generator[0](z).detach()
        return (likelihoods.gaussian_log_likelihood(y, x, self.s)
                - likelihoods.gaussian_log_likelihood(y, a, self.s_prime))


def theorem_model(s=0.5, s_prime=0.2):
    torch.manual_seed(0)
    model = IJAE(tiny_config("model.lam=1.0").model, 16).double()
    latent = model.latent_dim
    model.nets["G"] = TinyGenerator(latent).double()
    model.nets["E"] = nn.Sequential(nn.Flatten(), nn.Linear(48, latent)).double()  # any z = E(x)
    model.nets["D_tau"] = OptimalPairDiscriminator(model.nets["G"], s, s_prime)
    model.nets["D_psi"] = nn.Sequential(nn.Flatten(), nn.Linear(48, 1), nn.Flatten(0)).double()
    model.nets["D_zeta"] = ZeroLatentDiscriminator()
    return model


class ZeroLatentDiscriminator(nn.Module):
    def forward(self, x, z):
        return z.sum(1) * 0.0


def test_theorem1_implicit_gradient_equals_log_likelihood_gradient():
    s = 0.5
    model = theorem_model(s)
    G = model.nets["G"]
    x = torch.rand(32, 3, 4, 4, dtype=torch.float64) * 2 - 1
    terms = model.generator_encoder_terms(x)
    total = objective.generator_encoder_objective(terms["gan_logits"], terms["recon"],
                                                  terms["zeta_logits"], model.lam)
    implicit = flat(grads(total, G.parameters()))
    z = model.nets["E"](x)
    explicit = flat(grads(-likelihoods.gaussian_log_likelihood(x, G(z), s).mean(), G.parameters()))
    assert explicit.abs().max() > 1e-3                 # a real, non-zero gradient
    torch.testing.assert_close(implicit, explicit, rtol=1e-9, atol=1e-12)


def test_theorem1_naive_discriminator_gives_zero_gradient():
    model = theorem_model()
    G = model.nets["G"]
    x = torch.rand(32, 3, 4, 4, dtype=torch.float64) * 2 - 1
    z = model.nets["E"](x)
    naive = model.nets["D_tau"](x, z, x) + 0 * z.sum(1)  # D_tau(x, z, x): the straightforward loss
    assert flat(grads(-naive.mean(), G.parameters())).abs().max() == 0
    proper = model.recon_term(x, z, G(z))               # D_tau(x, z, G(z)): what L_G uses
    assert flat(grads(-proper.mean(), G.parameters())).abs().max() > 1e-3


# ---- the lambda convention ---------------------------------------------------------------------

def gradients(lam, seed=0, perturb=None):
    """G's and E's gradients of one G/E update of a tiny real lambda-IJAE, optionally after
    randomising one discriminator's weights; the same seed gives the same batch and noise."""
    torch.manual_seed(123)
    model = IJAE(tiny_config(f"model.lam={lam}").model, 16)
    if perturb:
        with torch.no_grad():
            for p in model.nets[perturb].parameters():
                p.add_(torch.randn_like(p))
    torch.manual_seed(seed)
    x = torch.rand(8, 3, 16, 16) * 2 - 1
    total, _ = model.generator_encoder_losses(x)
    return (flat(grads(total, model.nets["G"].parameters())),
            flat(grads(total, model.nets["E"].parameters())))


def test_lambda_zero_gives_no_reconstruction_gradient():
    g, e = gradients(0.0)
    g_tau, e_tau = gradients(0.0, perturb="D_tau")
    g_psi, _ = gradients(0.0, perturb="D_psi")
    assert torch.equal(g, g_tau)                        # D_tau cannot move G at lam = 0
    assert not torch.allclose(g, g_psi)                 # ... while D_psi does
    assert e.abs().max() == 0 and e_tau.abs().max() == 0  # and the encoder gets nothing


def test_training_at_lambda_zero_leaves_the_encoder_untrained(tmp_path):
    """The tables say λ = 0's reconstructions are an untrained encoder's: after real training
    steps (Adam, the generic loop) E's weights are bit-equal to their initialisation while G's
    have moved (E's BatchNorm statistics still follow the data: buffers, not weights)."""
    from ijae import train as train_mod
    from ijae.contract import CHECKPOINT

    def trained(lam, run):
        train_mod.train(tiny_config(f"model.lam={lam}", "train.steps=3", "train.checkpoint_every=3"), run)
        return torch.load(run / CHECKPOINT, weights_only=True)["model"]

    torch.manual_seed(0)   # train seeds itself from the config: the same initialisation
    model = IJAE(tiny_config().model, 16)
    init = model.state_dict()
    weights = {name for name, _ in model.named_parameters()}
    for lam, encoder_moves in ((0.0, False), (0.3, True)):
        state = trained(lam, tmp_path / f"lam{lam}")
        e_keys = [k for k in weights if k.startswith("nets.E.")]
        g_keys = [k for k in weights if k.startswith("nets.G.")]
        assert e_keys and g_keys
        assert any(not torch.equal(state[k], init[k]) for k in g_keys)
        assert any(not torch.equal(state[k], init[k]) for k in e_keys) == encoder_moves, lam


def test_lambda_one_gives_no_gan_gradient():
    g, _ = gradients(1.0)
    g_psi, _ = gradients(1.0, perturb="D_psi")
    g_tau, _ = gradients(1.0, perturb="D_tau")
    assert torch.equal(g, g_psi)
    assert not torch.allclose(g, g_tau)


@pytest.mark.parametrize("lam", [0.3, 1.0])
def test_encoder_never_receives_d_psi_gradient(lam):
    _, e = gradients(lam)
    _, e_psi = gradients(lam, perturb="D_psi")
    _, e_zeta = gradients(lam, perturb="D_zeta")
    assert e.abs().max() > 0
    assert torch.equal(e, e_psi)
    assert not torch.allclose(e, e_zeta)


def test_lambda_weights_the_terms_as_the_objective_says():
    gan, recon, zeta = torch.tensor([2.0, 4.0]), torch.tensor([1.0, -3.0]), torch.tensor([0.5, 0.5])
    for lam in (0.0, 0.3, 1.0):
        assert objective.generator_loss(gan, recon, lam).item() == pytest.approx(-(1 - lam) * 3.0 + lam * 1.0)
        assert objective.encoder_loss(recon, zeta, lam).item() == pytest.approx(-lam * (-1.0 + 0.5))


@pytest.mark.parametrize("variant", ["implicit", "l1", "l2"])
def test_one_backward_gives_each_network_its_own_loss_gradient(variant):
    torch.manual_seed(7)
    model = IJAE(tiny_config("model.lam=0.4", f"model.variant={variant}").model, 16)
    x = torch.rand(8, 3, 16, 16) * 2 - 1
    t = model.generator_encoder_terms(x)
    total = objective.generator_encoder_objective(t["gan_logits"], t["recon"], t["zeta_logits"], 0.4)
    loss_g = objective.generator_loss(t["gan_logits"], t["recon"], 0.4)
    loss_e = objective.encoder_loss(t["recon"], t["zeta_logits"], 0.4)
    G, E = list(model.nets["G"].parameters()), list(model.nets["E"].parameters())
    torch.testing.assert_close(flat(grads(total, G)), flat(grads(loss_g, G)))
    torch.testing.assert_close(flat(grads(total, E)), flat(grads(loss_e, E)))
    # and the sum L_G + L_E would double-count the shared term for G
    assert not torch.allclose(flat(grads(loss_g + loss_e, G)), flat(grads(loss_g, G)))


def test_mismatched_negatives_pair_x_with_another_image():
    from ijae import model as model_mod

    x = torch.arange(5.0)[:, None, None, None].expand(5, 3, 4, 4)
    other = model_mod.mismatched(x)
    assert all(not torch.equal(other[i], x[i]) for i in range(5))
    assert sorted(other[:, 0, 0, 0].tolist()) == sorted(x[:, 0, 0, 0].tolist())   # a re-pairing

    torch.manual_seed(0)
    calls = []

    def spy(a, z, y):                                        # logit 0 everywhere: each BCE is log 2
        calls.append((a, y))
        return torch.zeros(a.shape[0])

    x = torch.rand(6, 3, 16, 16) * 2 - 1
    m = IJAE(tiny_config("model.tau_mismatch=0.5", "model.shift_max=0").model, 16)
    m.nets["D_tau"].forward = spy
    loss = m.discriminator_losses(x)["d_tau"]
    assert len(calls) == 3                                   # real, reconstructed, mismatched
    a, y = calls[2]
    assert torch.equal(a, x) and torch.equal(y, x.roll(1, 0))   # S = 0: r is the identity
    assert loss.item() == pytest.approx(2.5 * math.log(2))    # weighted 0.5, labelled fake
    m0 = IJAE(tiny_config("model.tau_mismatch=0", "model.shift_max=0").model, 16)
    m0.nets["D_tau"].forward = spy
    calls.clear()
    assert m0.discriminator_losses(x)["d_tau"].item() == pytest.approx(2 * math.log(2))
    assert len(calls) == 2                                   # the paper's D_tau: no extra negatives
