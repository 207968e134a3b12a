"""Blame: which layer is wrong, not just which blocks show it.

A wrong backward shows in every block below it: a Tanh whose backward is 1.5x too large
fails W1, b1, W2 and b2, although its own code is the only one at fault. When a check
fails, every piece is checked on its own, **in place**:

- each layer with its cached input from this forward pass, its own parameters and a random
  upstream gradient G (J = Σ forward(x)·G, as ``check_layer`` does): the parts ``x`` (the
  input gradient backward returns; only where backprop uses it) and each parameter key;
- the loss with respect to the scores of this forward pass (part ``scores``);
- the penalty with respect to each penalized weight (part ``W2``, ...).

Each part is checked along three unit directions u, its own gradient and two random ones
(``dJ·u`` against ``(J(a + εu) − J(a − εu)) / 2ε``), so blame costs about one screen-mode
check per layer, and nothing when the check passes. A part is a culprit when its error is the same at 4ε,
16ε and 64ε: constant, as a bug's error is, where round-off would shrink 16x and
truncation grow 256x (the second opinion's test, opinion.py). So no round-off floor is
needed, and a (1 + 1e-6) factor is found as surely as a sign flip. A directional step
that crosses a kink is left out.
"""

from dataclasses import dataclass

import numpy as np

from .estimate import UNIT_ROUNDOFF
from .opinion import SCALES, constant_error
from .policy import factor_hint
from .sandbox import float64_layer

DIRECTIONS = 3


@dataclass
class Culprit:
    """One faulty piece of a network: where it is, which part of its backward is wrong."""
    where: str          # "layers[3]", "loss" or "penalty"
    layer: str          # repr of the layer, loss or penalty
    part: str           # "x", a parameter key ("W", "gamma"), "scores", or a weight ("W2")
    difference: float   # the course's relative difference over the checked directions
    hint: str = ""      # e.g. "1.5 x numeric"

    def sentence(self):
        """The root cause in one sentence."""
        if self.part == "x":
            what = "returns a wrong input gradient dx"
        elif self.where == "loss":
            what = "returns a wrong dscores"
        elif self.where == "penalty":
            what = f"gives a wrong gradient for {self.part}"
        else:
            what = f"assigns a wrong gradient to its parameter {self.part!r}"
        hint = f", analytic = {self.hint}" if self.hint else ""
        return f"{self.where} {self.layer}: backward {what} (difference {self.difference:.1e}{hint})"


def blame(engine, notes=None, failed=()):
    """Check every layer, the loss and the penalty of ``engine.net`` in place; -> [Culprit].

    ``engine`` has run ``start``: its cached inputs and scores are the base point. A
    parameter several layers read (``engine.readers``) is not judged in place: its gradient
    is what all their backwards add together, which no single layer's check sees. For each
    such block in ``failed`` (names), a sentence saying so is appended to ``notes``.
    """
    net, rng = engine.net, np.random.default_rng(0)
    culprits = []
    first = net._first_param_layer
    shared = {(b.layer_index, b.key) for b in net.blocks if b.name in engine.readers}
    dtheta = engine.dtheta.copy()           # a reader's backward adds into its owner's grads
    for index, layer in enumerate(net.layers):
        if index < first:                   # nothing before it needs a gradient
            continue
        skip = {key for i, key in shared if i == index}
        for part, diff, hint in _check_layer_in_place(layer, engine.inputs[index], index > first,
                                                      engine.frozen[index], engine.eps, rng, skip):
            culprits.append(Culprit(f"layers[{index}]", _name(layer), part, diff, hint))
    engine.dtheta[...] = dtheta
    for name, readers in engine.readers.items():
        if notes is not None and name in failed:
            names = " and ".join(f"layers[{i}] ({_name(net.layers[i])})" for i in readers)
            notes.append(f"blame cannot judge {name} in place: {names} read it, and its gradient is "
                         "the sum of what their backwards add; check that every reader's backward "
                         "adds (+=) its own term")
    loss = net.loss
    diff, hint = _check_loss_in_place(loss, engine.scores, engine.y, engine.eps, rng)
    if diff is not None:
        culprits.append(Culprit("loss", _name(loss), "scores", diff, hint))
    if net.penalty is not None:
        for part, diff, hint in _check_penalty_in_place(net, engine.m, engine.eps, rng):
            culprits.append(Culprit("penalty", _name(net.penalty), part, diff, hint))
    return culprits


def explained(failed, culprits, net):
    """{block name: "layers[3]"} for the failed blocks that fail only because of a culprit
    above them (an input gradient or the loss), not because their own gradient is wrong."""
    own = {_block_name(net, c) for c in culprits if c.part not in ("x", "scores")}
    sources = [(len(net.layers) if c.where == "loss" else _layer_index(c), c.where)
               for c in culprits if c.part in ("x", "scores")]
    result = {}
    for block in net.blocks:
        if block.name not in failed or block.name in own:
            continue
        above = [(i, where) for i, where in sources if i > block.layer_index]
        if above:
            result[block.name] = min(above)[1]          # the nearest culprit above the block
    return result


def _name(obj):
    """repr(obj), or "ClassName()" for a plain class without a __repr__ of its own."""
    text = repr(obj)
    return f"{type(obj).__name__}()" if text.startswith("<") else text


def _block_name(net, culprit):
    if culprit.where == "penalty":
        return culprit.part
    index = _layer_index(culprit)
    return next(b.name for b in net.blocks if b.layer_index == index and b.key == culprit.part)


def _layer_index(culprit):
    return int(culprit.where.removeprefix("layers[").removesuffix("]"))


# ---- one piece in place ---------------------------------------------------------------------

def _check_layer_in_place(layer, x, check_x, state, eps, rng, skip=()):
    """-> [(part, difference, hint)] for the faulty parts of ``layer`` at input ``x``.

    state: its generator's state for this forward pass (the engine's freezing), so that a
    layer that draws random numbers draws the same ones as in the check, every time.
    skip: parameter keys not to judge (shared with other layers)."""
    with float64_layer(layer) as params:
        if hasattr(layer, "need_input_grad"):
            layer.need_input_grad = True

        def J(inp):
            layer.rng.bit_generator.state = state
            return float(np.vdot(layer.forward(inp, training=True), G))

        layer.rng.bit_generator.state = state
        out = np.asarray(layer.forward(x.copy(), training=True), dtype=np.float64)
        G = rng.standard_normal(out.shape)
        dx = layer.backward(G.copy())
        grads = {key: layer.grads[key].copy() for key in params}
        scale = float(np.abs(out * G).sum())
        kinks0 = layer.kinks(x)
        kinks0 = None if kinks0 is None else np.sign(kinks0)
        found = []
        if check_x and dx is not None and np.shape(dx) == x.shape:
            def at_x(u, step):
                moved = x + step * u
                crossed = kinks0 is not None and np.any(np.sign(layer.kinks(moved)) != kinks0)
                return J(moved), crossed
            found += _judge("x", np.asarray(dx, dtype=np.float64), x.shape, at_x, scale, eps,
                            rng, kinks0, layer, x)
        elif check_x:
            found.append(("x", 1.0, "backward returned no input gradient"))
        for key, value in params.items():
            if key in skip:
                continue

            def at_param(u, step, value=value):
                saved = value.copy()
                value += step * u
                try:
                    crossed = kinks0 is not None and np.any(np.sign(layer.kinks(x)) != kinks0)
                    return J(x.copy()), crossed
                finally:
                    value[...] = saved
            found += _judge(key, grads[key], value.shape, at_param, scale, eps, rng)
    return found


def _check_loss_in_place(loss, scores, y, eps, rng):
    """-> (difference, hint) if the loss's backward is wrong at ``scores``, else (None, "")."""
    J0 = float(loss.forward(scores.copy(), y))
    dscores = np.asarray(loss.backward(), dtype=np.float64)
    if dscores.shape != scores.shape:
        return 1.0, f"backward returned shape {dscores.shape}, the scores are {scores.shape}"

    def at(u, step):
        return float(loss.forward(scores + step * u, y)), False
    found = _judge("scores", dscores, scores.shape, at, abs(J0), eps, rng)
    return found[0][1:] if found else (None, "")


def _check_penalty_in_place(net, m, eps, rng):
    """-> [(weight name, difference, hint)] for the weights whose penalty gradient is wrong."""
    penalty = net.penalty
    weights = [w.copy() for w in net._penalty_weights()]
    names = {(b.layer_index, b.key): b.name for b in net.blocks}
    index = {id(layer): i for i, layer in enumerate(net.layers)}
    grads = penalty.backward(weights, m)
    scale = abs(float(penalty.forward(weights, m)))
    found = []
    for (layer, key), w, g in zip(net._penalized, weights, grads):
        def at(u, step, w=w):
            saved = w.copy()
            w += step * u
            try:
                return float(penalty.forward(weights, m)), False
            finally:
                w[...] = saved
        found += _judge(names[index[id(layer)], key], np.asarray(g, dtype=np.float64), w.shape,
                        at, scale, eps, rng)
    return found


def floor_at(scale, step):
    """The smallest change of a J summed from terms of size ``scale``, divided by the step."""
    return UNIT_ROUNDOFF * scale / step


def _judge(part, analytic, shape, at, scale, eps, rng, kinks0=None, layer=None, x=None):
    """Directional check of one part; -> [(part, difference, hint)] if it is faulty, else [].

    at(u, step) -> (J at the part moved by step·u, crossed a kink); scale: u·scale is the
    smallest change of J float64 resolves. kinks0, layer, x: for a layer's input, where its
    kinks are (the directions avoid them).
    """
    size = int(np.prod(shape))
    if size == 0:
        return []
    U = rng.standard_normal((DIRECTIONS,) + tuple(shape))
    if np.any(analytic):
        U[0] = analytic.reshape(shape)      # along the gradient: the largest change of J
    if kinks0 is not None:
        # Never move an input that sits exactly on a kink, and avoid those within the largest
        # step of one, unless that would leave out most inputs (a hook that puts kinks
        # everywhere): then a declared crossing counts only where J really bends (below).
        on_kink = kinks0 == 0
        for u in U:
            stays = ~on_kink
            for step in (SCALES[-1] * eps, -SCALES[-1] * eps):
                stays = stays & (np.sign(layer.kinks(x + step * u)) == kinks0)
            u *= stays if on_kink.all() or stays[~on_kink].mean() >= 0.5 else ~on_kink
    U /= np.maximum(np.linalg.norm(U.reshape(DIRECTIONS, -1), axis=1), 1e-300).reshape(
        (-1,) + (1,) * len(shape))
    g = U.reshape(DIRECTIONS, -1) @ analytic.ravel()
    J0 = at(np.zeros(shape), 0.0)[0]
    rows, use = [], np.abs(U.reshape(DIRECTIONS, -1)).sum(axis=1) > 0
    for factor in SCALES:
        step = factor * eps
        (plus, up), (minus, down) = zip(*[at(u, step) for u in U]), zip(*[at(u, -step) for u in U])
        plus, minus = np.array(plus), np.array(minus)
        rows.append((plus - minus) / (2 * step))
        # a kink inside the step bends J by about the jump of the slope; a smooth J by s·J''
        bends = np.abs(plus + minus - 2 * J0) / (2 * step) > 1e-3 * np.abs(rows[-1]) + floor_at(
            scale, step)
        use &= ~((np.array(up) | np.array(down)) & bends)
    if not use.any():
        return []
    real, relative, mean = constant_error(g[use], np.array(rows)[:, use],
                                          floor_at(scale, SCALES[-1] * eps))
    return [(part, relative, factor_hint(g[use], mean))] if real else []
