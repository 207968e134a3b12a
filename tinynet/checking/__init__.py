"""Gradient checking: backprop's dθ against two-sided finite differences.

Four entry points share one report (``GradCheckReport``):

- ``check_gradients(net, X, y)`` (also ``net.check_gradients``): the whole network (network.py);
- ``check_layer(layer, x)``: one layer alone, J = Σ out·G for a random upstream G (layer.py);
- ``gradcheck(cost, params, grads)``: the course's own hand-written functions (functions.py);
- ``check_loss(loss, scores, y)``: one loss alone, block "scores" (loss.py).

The parts, each one file:

    sandbox.py    the float64 copy; the model restored bit for bit afterwards
    plan.py       which fast path each layer allows
    engine.py     J at many perturbed points at once (the fast evaluation)
    smooth.py     the engine's exact series through Dense → Tanh/Sigmoid → Dense
    estimate.py   one estimate from J(θ ± ε e_i): two-sided, one-sided at a kink; round-off
    screen.py     mode="screen": a few random directions per block
    policy.py     the per-block pass rule, the course's verdict bands, known bug patterns
    blame.py      when a check fails: every layer, the loss and the penalty checked in place
    opinion.py    the second opinion: is a block's error constant (a bug) or does it move with ε
    report.py     GradCheckReport: the blocks, the worst entries, printing and plotting
"""

from .blame import Culprit
from .functions import gradcheck
from .layer import check_layer
from .loss import check_loss
from .network import check_gradients
from .report import GradCheckReport

__all__ = ["check_gradients", "check_layer", "check_loss", "gradcheck", "GradCheckReport",
           "Culprit"]
