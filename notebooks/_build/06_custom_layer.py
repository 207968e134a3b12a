# Source of notebooks/06_custom_layer.ipynb, in the percent format of build.py:
#     python notebooks/_build/build.py 06

# %% [markdown]
# # 06 · Verify a custom layer before you train it
#
# *In the spirit of deeplearning.ai Course 2, week 1, "Gradient checking", and of CS231n's habit of
# checking every layer alone before assembling a model.*
#
# When you write a new layer you write two functions: `forward`, which is usually easy to get right,
# and `backward`, the derivative by hand, which is easy to get *almost* right. An almost-right
# backward does not crash: the network still trains, only worse, and you may never find out why.
# So before training, compare `backward` with the numeric derivative
#
#     dθ_approx[i] = (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε
#
# entry by entry. `tn.check_layer(layer, x)` does this for one layer alone: it draws a random
# upstream gradient `G`, takes `J = Σ forward(x) · G` (so that `dJ/dout = G`), and compares what
# `backward(G)` returns (`dx`) and assigns (the parameter gradients) with the numeric values.
#
# Our layer: **Swish**, `f(x) = x · σ(β x)`, with one learnable `β` per feature.

# %%
%matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

# %% [markdown]
# ## 1. Write the layer
#
# A custom layer subclasses `tn.Layer`, registers its parameters with `add_param` (tinynet then
# keeps a gradient array of the same shape in `self.grads`), and implements `forward` and
# `backward`. `backward(dout)` receives `dJ/dout`, **assigns** the parameter gradients and returns
# `dJ/dx`. With `s = σ(βx)` and `σ' = s(1 − s)`:
#
# - `df/dx = s + β x s(1 − s)` (product rule: the second factor depends on `x` too),
# - `df/dβ = x² s(1 − s)`, summed over the examples because the same `β` serves all of them.
#
# Two optional pieces: `out_features` tells the `Network` the output width (it checks the sizes of
# consecutive layers), and `rowwise = True` says that every example is processed on its own, which
# lets the gradient checker stack many perturbed copies of the batch into one call (faster; the
# checker tests the claim against `forward` before it uses it, see section 4).
# `get_config` returns the constructor arguments, for saving (section 5).

# %%
def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))   # = 1 / (1 + e^-z), without overflow


class Swish(tn.Layer):
    # f(x) = x · σ(β x), one learnable β per feature.  x: (m, n) -> (m, n)
    rowwise = True

    def __init__(self, n):
        super().__init__()
        self.n = n
        self.add_param("beta", np.ones(n))

    def forward(self, x, training=False):
        self.x = x
        self.s = sigmoid(self.params["beta"] * x)
        return x * self.s

    def backward(self, dout):
        x, s, beta = self.x, self.s, self.params["beta"]
        ds = s * (1 - s)                                          # σ'(βx)
        self.grads["beta"][...] = (dout * x ** 2 * ds).sum(axis=0)   # dβ = Σ_examples dout · x² σ'
        return dout * (s + beta * x * ds)                         # dx = dout · (σ + β x σ')

    def out_features(self, n_in):
        if n_in is not None and n_in != self.n:
            raise ValueError(f"Swish({self.n}) got {n_in} input features")
        return self.n

    def get_config(self):
        return {"n": self.n}


rng = np.random.default_rng(0)
x = rng.normal(size=(5, 3))                  # 5 examples, 3 features
layer = Swish(3)
layer.params["beta"][...] = [0.5, 1.0, 2.0]  # not all equal, so a mix-up between features would show
report = tn.check_layer(layer, x)
print(report)

# %% [markdown]
# The report has one row per block: the layer's parameter `beta` and the input gradient `x`. Each
# row gives the course's relative difference `‖g − ĝ‖₂ / (‖g‖₂ + ‖ĝ‖₂)` for that block, the
# course's verdict band for it (below 1e-7 great, below 1e-5 fine, below 1e-3 suspicious, above:
# almost surely a bug) and the worst entry, analytic versus numeric.
#
# ## 2. Plant a bug, and let the check find it
#
# The classic mistake: forget that the sigmoid's argument depends on `x` too, and write
# `df/dx = σ(βx)`, dropping the `β x σ'` term of the product rule. A second classic: forget a
# factor in the parameter gradient, `dβ = Σ dout · x σ'` (one `x` instead of `x²`).

# %%
class SwishForgotTerm(Swish):
    def backward(self, dout):
        super().backward(dout)                 # dβ stays right
        return dout * self.s                   # BUG: dx without the β x σ'(βx) term


class SwishWrongBeta(Swish):
    def backward(self, dout):
        dx = super().backward(dout)            # dx stays right
        x, s = self.x, self.s
        self.grads["beta"][...] = (dout * x * s * (1 - s)).sum(axis=0)   # BUG: x instead of x²
        return dx


for buggy in (SwishForgotTerm(3), SwishWrongBeta(3)):
    buggy.params["beta"][...] = [0.5, 1.0, 2.0]
    report = tn.check_layer(buggy, x)
    print(f"--- {type(buggy).__name__}: passed = {report.passed}, failed blocks = {report.failed}")
    print(report)
    print()

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), sharey=True)
for ax, candidate in zip(axes, (SwishForgotTerm(3), SwishWrongBeta(3), Swish(3))):
    candidate.params["beta"][...] = [0.5, 1.0, 2.0]
    tn.plot.gradcheck_report(tn.check_layer(candidate, x), ax=ax)
    ax.set_title(f"{type(candidate).__name__}\n" + ax.get_title(), fontsize="medium")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### What you should see
#
# - `SwishForgotTerm`: the block **`x`** fails with a difference far above 1e-3 (a bug, by the
#   course's bands) while `beta` still passes: the check points at the input gradient, i.e. at the
#   `return` line of `backward`.
# - `SwishWrongBeta`: now **`beta`** fails and `x` passes.
# - `Swish`, the correct layer: both blocks are far below 1e-7 (green bars).
#
# That is why the report is per block. The course's single number over all of θ would still flag
# these bugs, but it would not say *where*, and in a whole network a bug in a small block (one
# `β` per feature) can hide behind the large correct weight matrices around it.
#
# ## 3. Layers with kinks, and the `kinks` hook
#
# Some layers are not differentiable everywhere: ReLU at 0, `|x|` at 0, a hinge. If a ±ε step
# crosses such a point the two-sided estimate is wrong even though `backward` is right. tinynet's
# checker sees it in J itself: a kink inside the step *bends* J, so `J(x + ε) − J(x)` and
# `J(x) − J(x − ε)` give two different one-sided slopes. Curvature bends J too, so the checker
# confirms the kink at smaller steps (ε/8, ...): a kink's slope gap stays, a smooth J's shrinks,
# and an entry whose kink a smaller step no longer meets is compared there. At a confirmed kink
# `backward` must give a value between the two slopes (a *subgradient*): then the entry is
# counted as a kink, not compared; outside them it is a bug. A layer may also say where its kinks are through the hook
# `kinks(x)`: an array shaped like `x` whose **sign** tells which side of a kink each input is on
# (zero exactly at one). Here is a home-made ReLU, checked on an input with one entry exactly at 0
# and one within ε of it, without and with the hook. (`tn.Activation` is the base class for layers
# without parameters whose output has the input's shape.)

# %%
class MyReLU(tn.Activation):
    def forward(self, x, training=False):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, dout):
        return dout * (self.x > 0)             # the derivative at exactly 0 taken as 0


class MyReLUWithKinks(MyReLU):
    def kinks(self, x):
        return x                               # the kink is at x = 0: the sign of x is the side


class MyReLUWrong(MyReLUWithKinks):
    def backward(self, dout):
        return dout * (self.x >= 0) * 2        # BUG: a factor 2


x_kink = rng.normal(size=(4, 3))
x_kink[0, 0] = 0.0                             # exactly on the kink
x_kink[2, 1] = 1e-8                            # well within ε = 1e-6 of it
for candidate in (MyReLU(), MyReLUWithKinks(), MyReLUWrong()):
    report = tn.check_layer(candidate, x_kink)
    print(f"--- {type(candidate).__name__}: passed = {report.passed}")
    print(report)
    print()

# %% [markdown]
# ### What you should see
#
# `MyReLU` and `MyReLUWithKinks` both pass, and the "kinks" column counts the two entries we placed
# on and next to the kink: their `backward` values lie between the two one-sided slopes. The hook
# is not what excuses them; J is. `MyReLUWrong` fails: a kink excuses only a value between the
# slopes, and the other entries are compared as usual.
#
# ## 4. A layer that claims too much
#
# To be fast, the network check may use what a layer says about its `forward`: `rowwise = True`
# (every example is treated on its own, so many perturbed batches can be stacked into one call),
# `elementwise = True` (output column j depends on input column j only), `slopes(x)` (the layer is
# linear between its kinks). A claim that is false would make the checker compute the wrong
# numbers, so it never takes one on trust: a class that writes its own `forward` does not inherit
# the claims of its parent, and a claim it declares is tested against its `forward` first (a few
# calls of that one layer). A claim that fails is not used, and the report says so in a note.
#
# Here is a layer that subtracts the **batch** mean, `x − mean over the examples of x`, whose
# author thought of it as "an activation" and declared both claims. It mixes the examples, so
# neither claim is true. Its correct backward is `dout − mean over the examples of dout`; the
# buggy version treats the mean as a constant, the classic batch-norm mistake.

# %%
class BatchCentre(tn.Layer):
    rowwise = True            # wrong: the mean is over the batch
    elementwise = True        # wrong too

    def forward(self, x, training=False):
        return x - x.mean(axis=0)

    def backward(self, dout):
        return dout - dout.mean(axis=0)

    def out_features(self, n_in):
        return n_in


class BatchCentreMeanAsConstant(BatchCentre):
    def backward(self, dout):
        return dout                            # BUG: the mean depends on x too


print("Activation subclass with its own forward: rowwise =", MyReLU.rowwise,
      " elementwise =", MyReLU.elementwise)
X_small = rng.normal(size=(8, 4))
y_small = rng.integers(0, 3, size=8)
for layer in (BatchCentre(), BatchCentreMeanAsConstant()):
    net_c = tn.Network([tn.Dense(4, 6), tn.Tanh(), layer, tn.Dense(6, 3)],
                       loss=tn.SoftmaxCrossEntropy(), seed=0)
    report = net_c.check_gradients(X_small, y_small)
    print(f"--- {type(layer).__name__}: passed = {report.passed}, failed blocks = {report.failed}")
    print(report)
    print()

# %% [markdown]
# ### What you should see
#
# - `MyReLU` (an `Activation` subclass with its own `forward`) has `rowwise` and `elementwise`
#   False: the claims of `tn.Activation` describe no particular `forward`, so they are not inherited.
# - `BatchCentre` passes, with two notes: its `elementwise` and `rowwise` claims failed their tests,
#   and the layer was checked on the plain path (one perturbed batch per call).
# - `BatchCentreMeanAsConstant` fails on `W1` and `b1`, the blocks below it: its wrong input
#   gradient reaches them. Had the checker trusted `rowwise = True` and stacked many perturbed
#   batches into one call, the batch mean would have hardly moved, the numeric side would have
#   treated it as a constant too, and the bug would have passed.
#
# ## 5. Train a network with the layer, check it whole, save it
#
# Once the layer passes alone, put it in a `Network`. Its parameter gets a course-style name from
# its position: `beta` in the second layer that has parameters is `beta2`. Then check the whole
# network (`net.check_gradients`), which also tests how the layer fits with its neighbours, and
# train on the spirals data (three classes).

# %%
X, y = tn.datasets.load("spirals")
net = tn.Network([tn.Dense(2, 32), Swish(32), tn.Dense(32, 32), Swish(32), tn.Dense(32, 3)],
                 loss=tn.SoftmaxCrossEntropy(), seed=0)
print(net.summary())
print()
report = net.check_gradients(X, y)
print(report)

# %%
history = net.fit(X, y, epochs=300, batch_size=32, optimizer=tn.Adam(lr=0.01), progress=False)
print(f"training accuracy after {history.epochs} epochs: {net.score(X, y):.1%}")
print("learned β of the first Swish layer, min / mean / max: "
      f"{net.layers[1].params['beta'].min():.2f} / {net.layers[1].params['beta'].mean():.2f} / "
      f"{net.layers[1].params['beta'].max():.2f}")
after = net.check_gradients(X, y)
print(f"gradient check after training: passed = {after.passed}, difference = {after.difference:.2e}")

fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
tn.plot.history(history, ax=axes[0])
tn.plot.decision_boundary(net, X, y, ax=axes[1], title="spirals, a network with Swish layers")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Save and load
#
# `net.save` writes one `.npz` file: the flat parameter vector plus a JSON description of the
# layers, each with its `get_config()`. To rebuild a custom layer `tn.load` must know the class:
# register it once with `tn.register(Swish)`, which `net.save` needs too (`tn.load` alone also
# accepts `custom_layers={"Swish": Swish}`). The file is written next to this notebook
# (`*.npz` files are ignored by git).

# %%
tn.register(Swish)
net.save("swish_spirals.npz")
loaded = tn.load("swish_spirals.npz")
print(type(loaded.layers[1]).__name__, loaded.layers[1].get_config())
print("same parameters:", np.array_equal(loaded.params, net.params))
print("same predictions:", np.array_equal(loaded.predict(X), net.predict(X)))
print(f"accuracy of the loaded model: {loaded.score(X, y):.1%}")

# %% [markdown]
# ### What you should see
#
# - The whole-network check passes before and after training, block by block: `W1, b1, beta2, W3,
#   b3, beta4, W5, b5` (the `Swish` parameters took the numbers of their positions).
# - The network separates the three spiral arms; the decision boundary follows the arms.
# - The loaded model is the same model: identical parameters and predictions.
#
# The workflow to remember: **write the layer → `tn.check_layer` → fix until every block passes →
# put it in a network → `net.check_gradients` → train.** A check costs a fraction of a second; a
# silently wrong gradient can cost days.

# %% [markdown]
# ## 6. A custom loss, checked with `tn.check_loss`
#
# A loss needs only two methods: `forward(scores, y)`, the mean over the batch, and `backward()`,
# dJ/dscores already divided by m. The rest is optional (`predict` for `net.predict`, `score` for
# the accuracy in `fit`'s History, `losses` for a faster check, `targets` to validate `y`; see the
# README's *Custom losses*). Here is CS231n's multiclass hinge (SVM) loss,
# J = 1/m Σ_i Σ_{j ≠ y_i} max(0, s_ij − s_iy_i + 1), and a version that forgets the 1/m.
# `tn.check_loss` checks `backward` against numeric gradients of `forward`, every entry of the
# scores (block `scores`).

# %%
class MulticlassHinge:
    def forward(self, scores, y):
        m = scores.shape[0]
        margins = np.maximum(0, scores - scores[np.arange(m), y][:, None] + 1)
        margins[np.arange(m), y] = 0
        self.margins, self.y = margins, y
        return margins.sum() / m

    def backward(self):
        m = self.margins.shape[0]
        dscores = (self.margins > 0).astype(float)             # +1 for every violated margin
        dscores[np.arange(m), self.y] = -dscores.sum(axis=1)   # -1 per violation, true class
        return dscores / m

    def predict(self, scores):
        return scores.argmax(axis=1)

    def score(self, scores, y):
        return float(np.mean(self.predict(scores) == y))


class HingeForgetsM(MulticlassHinge):
    def backward(self):
        return super().backward() * self.margins.shape[0]     # BUG: the 1/m forgotten


scores = rng.normal(size=(7, 3)) * 2
labels = rng.integers(0, 3, size=7)
for loss in (MulticlassHinge(), HingeForgetsM()):
    print(f"--- {type(loss).__name__}")
    print(tn.check_loss(loss, scores, labels))
    print()

# %% [markdown]
# In a network, a wrong loss backward fails every block, and blame names the loss; the correct
# hinge loss trains the spirals like the cross-entropy does, and `fit` records its accuracy
# because the class has `score`.

# %%
net_h = tn.Network([tn.Dense(2, 32), Swish(32), tn.Dense(32, 3)], loss=HingeForgetsM(), seed=0)
print("\n".join(str(net_h.check_gradients(X[:40], y[:40])).splitlines()[-2:]))
net_h = tn.Network([tn.Dense(2, 32), Swish(32), tn.Dense(32, 32), Swish(32), tn.Dense(32, 3)],
                   loss=MulticlassHinge(), seed=0)
history_h = net_h.fit(X, y, epochs=300, batch_size=32, optimizer=tn.Adam(lr=0.01), progress=False)
print("History keys:", list(history_h.history))
print(f"training accuracy with the hinge loss: {net_h.score(X, y):.1%}")

# %% [markdown]
# ### What you should see
#
# - `check_loss` passes `MulticlassHinge` (one block, `scores`) and fails `HingeForgetsM`, whose
#   hint says the 1/m is missing.
# - In the network, the last line of the report names `loss HingeForgetsM()` as the root cause.
# - The History has `loss`, `accuracy` and `lr`, and the hinge loss separates the spirals.
