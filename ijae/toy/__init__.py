"""Figure 1 (Appendix B): a 4-component 1-D target fitted by an equal-weight 2-component model.

Each divergence -- forward KL(p*‖p_θ), reverse KL(p_θ‖p*), JSD and λ-Jeffreys
J_λ = λ KL(p*‖p_θ) + (1-λ) KL(p_θ‖p*) -- is minimised by plain SGD (no momentum, no clipping)
on reparameterised Monte Carlo estimates, and the best run of each is drawn.  By role:

- ``target``: the target, the model, the divergences and their Monte Carlo estimates;
- ``sgd``: the batched optimiser (closed-form gradients, a second thread for half of each);
- ``quadrature``: the same divergences by quadrature (numpy), the check on the optima;
- ``experiment``: ``ijae toy`` -- fit, pick, and write the table, the settings and the figure;
- ``plot``: the figure's panels.
"""
from ijae.toy.quadrature import exact, log_model_np, log_target_np
from ijae.toy.experiment import DEFAULT_LR, ToyError, fit, run
from ijae.toy.sgd import fast_grad, train
from ijae.toy.target import (EVAL_SAMPLES, MEANS, STDS, WEIGHTS, evaluate, groups, log_target,
                             mc_estimate, sample_target)

__all__ = ["DEFAULT_LR", "EVAL_SAMPLES", "MEANS", "STDS", "WEIGHTS", "ToyError", "evaluate",
           "exact", "fast_grad", "fit", "groups", "log_model_np", "log_target", "log_target_np",
           "mc_estimate", "run", "sample_target", "train"]
