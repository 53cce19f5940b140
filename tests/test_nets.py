import json

import pytest
import torch

from ijae import config, nets
from ijae.cli import main
from conftest import REPO


def test_paper_size_weight_counts_are_exact(capsys):
    assert main(["nets", str(REPO / "config" / "paper.yaml"), "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert set(table) == {"G", "E", "D_psi", "D_tau", "D_zeta"}
    for name, count in {"G": 1_154_179, "D_psi": 1_053_825, "D_zeta": 4_526_273}.items():
        assert table[name] == {"weights": count, "paper": count}
    # docs/paper-notes.md section 4: D_tau's printed count exceeds the decoded table by 128
    assert table["D_tau"]["paper"] - table["D_tau"]["weights"] == 128


@pytest.mark.parametrize("size, width, latent", [(16, 8, 8), (32, 16, 12), (64, 8, 16)])
def test_shapes_at_every_size(size, width, latent):
    m = config.IJAEConfig(latent_dim=latent, width=width)
    n = nets.build_networks(m, size)
    x = torch.rand(3, 3, size, size) * 2 - 1
    z = n["E"](x)
    g = n["G"](z)
    assert z.shape == (3, latent) and g.shape == x.shape
    assert g.abs().max() <= 1
    for logits in (n["D_psi"](x), n["D_tau"](x, z, g), n["D_zeta"](x, z)):
        assert logits.shape == (3,)


def test_encoder_is_implicit_and_discriminator_noise_is_not_learned():
    torch.manual_seed(0)
    m = config.IJAEConfig(latent_dim=8, width=8)
    n = nets.build_networks(m, 16)
    x = torch.rand(2, 3, 16, 16)
    assert not torch.equal(n["E"](x), n["E"](x))          # q(z|x) samples: xi is injected
    fixed = [name for name, _ in n["D_psi"].named_buffers()]
    assert "trunk.noise1.weight" in fixed and not any("noise" in p for p, _ in n["D_psi"].named_parameters())
    quiet = nets.build_networks(config.IJAEConfig(latent_dim=8, width=8, disc_noise=False), 16)
    assert torch.equal(quiet["D_psi"](x), quiet["D_psi"](x))


def test_encoder_noise_init_scales_the_projections_and_keeps_them_learned():
    torch.manual_seed(0)
    base = nets.build_networks(config.IJAEConfig(latent_dim=8, width=8), 16)["E"]
    torch.manual_seed(0)
    quiet = nets.build_networks(config.IJAEConfig(latent_dim=8, width=8, encoder_noise_init=0.1), 16)["E"]
    for name in ("noise1", "noise2", "noise3"):
        a, b = getattr(base, name).proj, getattr(quiet, name).proj
        torch.testing.assert_close(b.weight, 0.1 * a.weight)
        assert b.weight.requires_grad and torch.equal(a.bias, b.bias)
    x = torch.rand(2, 3, 16, 16)
    assert not torch.equal(quiet(x), quiet(x))              # still an implicit q(z|x)


def test_stacked_d_tau_sees_x_and_y_at_the_same_pixel():
    torch.manual_seed(0)
    m = config.IJAEConfig(latent_dim=8, width=8, disc_noise=False)
    side = nets.build_networks(m, 16)["D_tau"]
    stack = nets.build_networks(config.IJAEConfig(latent_dim=8, width=8, disc_noise=False,
                                                  tau_pairing="stack"), 16)["D_tau"]
    assert side.trunk.block1.conv1.in_channels == 3 and stack.trunk.block1.conv1.in_channels == 6
    x, y, z = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16), torch.randn(2, 8)
    assert stack(x, z, y).shape == (2,)
    # changing y at one pixel changes the first layer's output at that pixel's position only
    y2 = y.clone()
    y2[:, :, 8, 8] += 1
    conv = stack.trunk.block1.conv1
    diff = (conv(torch.cat([x, y2], 1)) - conv(torch.cat([x, y], 1))).abs().sum((0, 1))
    assert diff[4, 4] > 0 and diff.nonzero().tolist() == [[4, 4]]


def test_bad_image_size_is_refused():
    with pytest.raises(ValueError, match="image_size 20"):
        nets.Generator(8, 8, 20)


@pytest.mark.parametrize("pairing", ["side", "stack"])
def test_d_tau_depends_on_its_z_input(pairing):
    """Catches a D_tau whose last layer ignores z (``0 * z``): the same (x, y) with another z
    must score differently, and the score must have a gradient with respect to z."""
    torch.manual_seed(0)
    d_tau = nets.PairDiscriminator(latent_dim=8, width=8, noise_dim=8, disc_noise=False, pairing=pairing)
    x, y = torch.rand(4, 3, 16, 16), torch.rand(4, 3, 16, 16)
    z = torch.randn(4, 8, requires_grad=True)
    score = d_tau(x, z, y)
    assert not torch.allclose(score, d_tau(x, torch.randn(4, 8), y)), "D_tau ignores z"
    (grad,) = torch.autograd.grad(score.sum(), z)
    assert (grad.abs().sum(1) > 0).all(), "no gradient of D_tau with respect to z"


def test_side_by_side_d_tau_sees_x_left_of_y():
    """Table 6: x and y side by side, one 3 x H x 2W image with x on the left, y on the right.
    Catches joining them along the height (3 x 2H x W), which the trunk's global pooling accepts."""
    d_tau = nets.PairDiscriminator(latent_dim=8, width=8, noise_dim=8, disc_noise=False, pairing="side")
    seen = []
    d_tau.trunk.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    x, y = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    d_tau(x, torch.randn(2, 8), y)
    (pair,) = seen
    assert pair.shape == (2, 3, 16, 32), f"the pair is {tuple(pair.shape)}, Table 6 asks 3 x H x 2W"
    assert torch.equal(pair[..., :16], x) and torch.equal(pair[..., 16:], y)
