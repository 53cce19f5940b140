"""Wiring of lambda-IJAE's losses (issue 9.5): which tensors each discriminator receives, with which
label, and which gradients reach E. Recording networks stand in for the discriminators, so each test
checks the code path itself, not a training outcome; bench/mutations.py breaks the model on purpose
and checks that one of these tests fails for each break."""
import pytest
import torch

from ijae import likelihoods, objective
from ijae.config import resolved_shift_max
from ijae.model import IJAE
from conftest import tiny_config

CONFIDENT = 20.0          # an "ideal" discriminator's logit: its BCE is ~2e-9 when labelled right


def make_model(*overrides):
    torch.manual_seed(0)
    model = IJAE(tiny_config(*overrides).model, 16)
    return model, record_encoder_and_generator(model)


def record_encoder_and_generator(model):
    """Every call of E and G as (input, output), in order."""
    calls = {"E": [], "G": []}
    for name in calls:
        original = model.nets[name].forward

        def forward(inp, _original=original, _calls=calls[name]):
            out = _original(inp)
            _calls.append((inp, out))
            return out
        model.nets[name].forward = forward
    return calls


def spy(model, name, score):
    """Replace discriminator ``name`` by ``score(*args)``; return the list of recorded args."""
    calls = []

    def forward(*args):
        calls.append(args)
        return score(*args)
    model.nets[name].forward = forward
    return calls


def same_rows(a, b):
    """Per sample: a[i] == b[i] exactly (False where the shapes differ)."""
    if a.shape != b.shape:
        return torch.zeros(a.shape[0], dtype=torch.bool)
    return (a == b).flatten(1).all(1)


def shift_of(y, x, model):
    """Per sample: y[i] is x[i] moved by one of r(y|x)'s shifts (every direction, size 0..S)."""
    s_max = resolved_shift_max(model.cfg, x.shape[-1])
    fill = -1.0 if model.cfg.shift_fill == "pad" else None
    n = x.shape[0]
    found = torch.zeros(n, dtype=torch.bool)
    for d in range(4):
        for s in range(s_max + 1):
            found |= same_rows(y, likelihoods.apply_shifts(x, torch.full((n,), d), torch.full((n,), s), fill))
    return found


def same(a, b):
    """The same values (E's noise makes another draw of q(z|x) differ everywhere)."""
    return a is b or (a is not None and b is not None and a.shape == b.shape and torch.equal(a, b))


def encoded_from(z, x, e_calls):
    """z is one of E's outputs for input x (this draw, not another draw of q(z|x))."""
    return any(same(out, z) and same(inp, x) for inp, out in e_calls)


def decoded_from(y, z, g_calls, atol=1e-5):
    """y is G's output for exactly this z (up to r''s sigma' = 1e-8 noise)."""
    return any(same(inp, z) and torch.allclose(y, out, rtol=0, atol=atol) for inp, out in g_calls)


def batch(n=32, seed=1):
    torch.manual_seed(seed)
    return torch.rand(n, 3, 16, 16) * 2 - 1


# ---- the discriminator update: what D_tau, D_zeta, D_psi see ----------------------------------

def test_d_tau_real_pair_is_x_and_a_shift_of_x_and_fake_pair_is_g_of_the_same_z_q():
    """Catches: D_tau fed (y, y); y_real = x (no shift); the fake y decoded from another z than
    the one D_tau gets (another prior draw or another draw of q(z|x))."""
    model, nets = make_model()
    x = batch()
    calls = spy(model, "D_tau", lambda a, z, y: torch.zeros(a.shape[0]))
    model.discriminator_losses(x)
    assert len(calls) == 2 + (model.cfg.tau_mismatch > 0)
    for a, z, _ in calls:
        assert torch.equal(a, x), "D_tau's first argument must be the data x"
        assert encoded_from(z, x, nets["E"]), "D_tau's z must be z_q = E(x) of this batch"
    real = [y for _, _, y in calls if shift_of(y, x, model).all()]
    assert len(real) == 1, "exactly one D_tau call must get y ~ r(y|x), a shift of x"
    assert not same_rows(real[0], x).all(), "r(y|x) must move some images of a batch (S >= 1)"
    fake = [y for _, z, y in calls if decoded_from(y, z, nets["G"])]
    assert len(fake) == 1, "exactly one D_tau call must get y = G(z_q) for its own z_q"


def test_d_zeta_and_d_psi_see_the_right_inputs():
    """Catches: D_zeta given another z than the encoder's; D_psi given data twice or no G(z)."""
    model, nets = make_model()
    x = batch()
    zeta = spy(model, "D_zeta", lambda a, z: torch.zeros(a.shape[0]))
    psi = spy(model, "D_psi", lambda a: torch.zeros(a.shape[0]))
    model.discriminator_losses(x)
    assert all(torch.equal(a, x) for a, _ in zeta) and len(zeta) == 2
    assert sum(encoded_from(z, x, nets["E"]) for _, z in zeta) == 1      # the posterior pair
    assert len(psi) == 2 and sum(torch.equal(a, x) for (a,) in psi) == 1
    generated = [a for (a,) in psi if not torch.equal(a, x)][0]
    assert any(same(out, generated) and not any(same(inp, e) for _, e in nets["E"]) for inp, out in nets["G"])


def ideal_d_tau(model):
    return lambda a, z, y: torch.where(shift_of(y, a, model), CONFIDENT, -CONFIDENT)


@pytest.mark.parametrize("overrides", [(), ("model.tau_mismatch=0",)])
def test_each_discriminator_loss_is_near_zero_for_a_perfect_discriminator(overrides):
    """Label orientation: a discriminator that scores every real input +20 and every fake one -20
    must have ~zero loss; swapped real / fake labels give ~20 or more. Real: D_psi the data x,
    D_tau y a shift of x, D_zeta z from the prior (not an encoder output)."""
    model, nets = make_model(*overrides)
    x = batch()
    spy(model, "D_psi", lambda a: torch.where(same_rows(a, x), CONFIDENT, -CONFIDENT))
    spy(model, "D_tau", ideal_d_tau(model))
    encoded = lambda z: any(same(out, z) for _, out in nets["E"])  # noqa: E731
    spy(model, "D_zeta", lambda a, z: torch.full((a.shape[0],), -CONFIDENT if encoded(z) else CONFIDENT))
    losses = model.discriminator_losses(x)
    assert set(losses) == {"d_psi", "d_tau", "d_zeta"}
    for name, value in losses.items():
        assert value.item() < 1e-6, f"{name} = {value.item():.3g}: real and fake labels swapped?"


def test_discriminator_losses_reward_scoring_real_above_fake():
    """The objective's own orientation, term by term: raising the real logit or lowering the fake
    one lowers each discriminator's loss."""
    up, down = torch.tensor([3.0]), torch.tensor([-3.0])
    for loss in (objective.d_psi_loss, objective.d_tau_loss, objective.d_zeta_loss):
        assert loss(up, down) < loss(down, down) < loss(down, up)
        assert loss(up, down).item() == pytest.approx(2 * torch.nn.functional.softplus(down).item())
    assert objective.bce_fake_loss(down) < objective.bce_fake_loss(up)


# ---- the generator / encoder update ------------------------------------------------------------

def test_reconstruction_term_is_d_tau_of_x_z_q_and_g_of_that_z_q():
    """Catches: D_tau fed (G(z), z, G(z)) or another z than the one G decoded, in L_G / L_E."""
    model, nets = make_model()
    x = batch()
    calls = spy(model, "D_tau", lambda a, z, y: torch.zeros(a.shape[0]))
    zeta = spy(model, "D_zeta", lambda a, z: torch.zeros(a.shape[0]))
    model.generator_encoder_terms(x)
    (a, z, y), = calls
    assert torch.equal(a, x)
    assert encoded_from(z, x, nets["E"])
    assert any(same(inp, z) and same(out, y) for inp, out in nets["G"]), "y must be G(z) for D_tau's own z"
    (a_zeta, z_zeta), = zeta
    assert torch.equal(a_zeta, x) and same(z_zeta, z)                 # one z_q for both terms


def encoder_gradients(model, x, d_tau, term_of_z_q):
    """(E's gradient of the G / E objective on batch x with D_psi and D_zeta silent and D_tau
    scoring by ``d_tau``, E's gradient of -lam * mean(term_of_z_q(z_q))) for the same random
    draws: what the objective must send E, computed by hand."""
    spy(model, "D_psi", lambda a: a.flatten(1).sum(1) * 0.0)
    spy(model, "D_zeta", lambda a, z: z.sum(1) * 0.0)
    spy(model, "D_tau", d_tau)
    E = list(model.nets["E"].parameters())
    torch.manual_seed(5)
    total, _ = model.generator_encoder_losses(x)
    got = torch.autograd.grad(total, E, allow_unused=True)
    got = torch.cat([torch.zeros_like(p).flatten() if g is None else g.flatten() for g, p in zip(got, E)])
    torch.manual_seed(5)
    model.nets["G"](model.prior(x.shape[0], x))                       # the same random draws as above
    expected = torch.autograd.grad(-model.lam * term_of_z_q(model.nets["E"](x)).mean(), E)
    return got, torch.cat([g.flatten() for g in expected])


def test_encoder_gets_gradient_through_the_reconstruction_g_of_z_q():
    """Catches G(z_q.detach()): with D_psi and D_zeta silent and a D_tau that looks only at x and
    y, the encoder still must get a gradient, and the one of -lam * D_tau(x, ., G(E(x)))."""
    model, _ = make_model()
    x = batch(8)
    closeness = lambda a, z, y: -(y - a).pow(2).flatten(1).mean(1)   # noqa: E731  ignores z
    got, expected = encoder_gradients(model, x, closeness,
                                      lambda z_q: closeness(x, None, model.nets["G"](z_q)))
    assert got.abs().max() > 0, "no gradient reaches E through G(z_q): is z detached?"
    torch.testing.assert_close(got, expected)


def test_encoder_gets_gradient_through_d_tau_s_z_input():
    """Catches D_tau(x, z_q.detach(), G(z_q)) in L_G / L_E: z_q enters D_tau twice, as its z and
    through G(z_q). With D_psi and D_zeta silent and a D_tau that looks only at z, the encoder's
    gradient must be exactly the one of -lam * D_tau(x, E(x), .) through that z."""
    model, _ = make_model()
    x = batch(8)
    z_score = lambda a, z, y: -z.pow(2).sum(1)                   # noqa: E731  ignores x and y
    got, expected = encoder_gradients(model, x, z_score, lambda z_q: z_score(x, z_q, None))
    assert got.abs().max() > 0, "no gradient reaches E through D_tau's z: is z_q detached there?"
    torch.testing.assert_close(got, expected)
