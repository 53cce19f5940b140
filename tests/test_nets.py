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


def test_bad_image_size_is_refused():
    with pytest.raises(ValueError, match="image_size 20"):
        nets.Generator(8, 8, 20)
