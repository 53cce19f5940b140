"""Methods behind one contract: lambda-IJAE and the baselines of Table 1 (see README.md here).

Importing this package registers every adapter (baselines.base.REGISTRY).
"""
from baselines import base  # noqa: F401  (registers lambda-IJAE)
from baselines import twostage  # noqa: F401,E402  (2Stage-VAE, a port)
from baselines import age  # noqa: F401  (AGE, upstream)
from baselines import vae  # noqa: F401,E402  (VAE (resnet), the worked example of README.md)
from baselines import svae  # noqa: F401,E402  (SVAE, a port from the paper)
from baselines import alphagan  # noqa: F401  (α-GAN, upstream)
