# Source of notebooks/09_batch_normalization.ipynb, in the percent format of build.py:
#     python notebooks/_build/build.py 09

# %% [markdown]
# # 09 · Batch normalization
#
# *Following deeplearning.ai Course 2, week 3: "Normalizing activations in a network", "Fitting
# Batch Norm into a neural network", "Why does Batch Norm work?" and "Batch Norm at test time";
# the backward pass as in CS231n's batch-normalization assignment; the diagnostics of Karpathy's
# makemore part 3.*
#
# Notebook 04 normalized the *inputs*. Batch normalization does the same for the inputs of every
# hidden layer: for each unit, over the `m` examples of the mini-batch,
#
# ```
# μ  = 1/m Σ_i z_i                 σ² = 1/m Σ_i (z_i − μ)²
# ẑ_i = (z_i − μ) / √(σ² + ε)      z̃_i = γ ẑ_i + β
# ```
#
# with a learnable scale `γ` and shift `β` per unit. In tinynet it is a layer,
# `tn.BatchNorm(n)`, placed between a `Dense` layer and its activation, as in the lecture. Its
# conventions are PyTorch's `BatchNorm1d`: the biased variance (divide by `m`) to normalize,
# `ε = 1e-5`, and running averages for test time (section 5).
#
# This notebook:
#
# 1. the forward pass, step by step, against `tn.BatchNorm`;
# 2. the backward pass derived step by step, checked with `tn.check_layer`;
# 3. the classic bug in a hand-written backward, and how the checker catches it;
# 4. a deep tanh network with and without batch norm: saturation and the range of learning
#    rates that train;
# 5. training mode vs inference mode.

# %%
%matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

# %% [markdown]
# ## 1. The forward pass, step by step
#
# A batch of `m = 5` examples with 3 units, on purpose far from mean 0 and variance 1. Every
# statistic is per unit (per column), over the examples (the rows).

# %%
rng = np.random.default_rng(0)
z = rng.normal(loc=[2.0, -1.0, 10.0], scale=[1.0, 0.1, 5.0], size=(5, 3))
gamma, beta, eps = np.array([1.0, 2.0, 0.5]), np.array([0.0, 1.0, -1.0]), 1e-5

mu = z.mean(axis=0)                           # (3,) the mean of each unit over the batch
var = ((z - mu) ** 2).mean(axis=0)            # (3,) the biased variance: divide by m
z_hat = (z - mu) / np.sqrt(var + eps)         # (5, 3) mean 0, variance 1 per unit
z_tilde = gamma * z_hat + beta                # (5, 3) then any mean and scale the net learns

print("μ           ", np.round(mu, 3))
print("σ²          ", np.round(var, 4))
print("mean of ẑ   ", np.round(z_hat.mean(axis=0), 12))
print("variance of ẑ", np.round(z_hat.var(axis=0), 4))

bn = tn.BatchNorm(3)
bn.params["gamma"], bn.params["beta"] = gamma, beta
out = bn.forward(z, training=True)
print("tn.BatchNorm matches the four lines above: largest difference",
      f"{np.abs(out - z_tilde).max():.1e}")

# %% [markdown]
# `ẑ` has mean 0 and variance 1 in every column (just under 1: the `ε` in the denominator), and
# `tn.BatchNorm` computes the same `z̃`. With `γ = √(σ² + ε)` and `β = μ` the layer could
# undo the normalization entirely: it restricts nothing, it changes the parameterization.
#
# ## 2. The backward pass, step by step
#
# The backward pass receives `dz̃ = dJ/dz̃` (one row per example) and must return `dz` and the
# gradients of `γ` and `β`. The forward is a small graph, `z → μ → σ² → ẑ → z̃`, and every
# `z_i` reaches the cost along three paths: directly through `ẑ_i`, through `μ`, and through
# `σ²`. Going backwards through the graph (sums over the examples `k` of the batch):
#
# ```
# dβ   = Σ_k dz̃_k                     dγ = Σ_k dz̃_k ẑ_k            dẑ_k = γ dz̃_k
# dσ²  = Σ_k dẑ_k (z_k − μ) · (−½)(σ² + ε)^(−3/2)
# dμ   = −Σ_k dẑ_k / √(σ² + ε)   +   dσ² · (−2/m) Σ_k (z_k − μ)      (the last sum is 0)
# dz_i = dẑ_i / √(σ² + ε)   +   dσ² · 2(z_i − μ)/m   +   dμ / m
# ```
#
# Write `s = 1/√(σ² + ε)`, so that `z_k − μ = ẑ_k / s`. Then `dσ² · 2(z_i − μ)/m` becomes
# `−s ẑ_i · mean(dẑ ⊙ ẑ)` and `dμ/m` becomes `−s · mean(dẑ)`, and the three paths collapse to
# the compact form that `tn.BatchNorm.backward` uses (CS231n's "alternative" backward):
#
# ```
# dz_i = s · ( dẑ_i − mean_k(dẑ_k) − ẑ_i · mean_k(dẑ_k ẑ_k) )
# ```
#
# The two subtracted terms are the paths through `μ` and `σ²`. Below, the staged version is
# written as a learner would, as a `tn.Layer`, and compared with `tn.BatchNorm` on the same
# upstream gradient.

# %%
class MyBatchNorm(tn.Layer):
    """Batch normalization written by hand; backward staged through μ and σ²."""

    def __init__(self, n, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.add_param("gamma", np.ones(n))
        self.add_param("beta", np.zeros(n))

    def forward(self, z, training=False):
        self.z, self.mu = z, z.mean(axis=0)
        self.var = ((z - self.mu) ** 2).mean(axis=0)
        self.z_hat = (z - self.mu) / np.sqrt(self.var + self.eps)
        return self.params["gamma"] * self.z_hat + self.params["beta"]

    def backward(self, dout):
        m = dout.shape[0]
        self.grads["beta"] = dout.sum(axis=0)
        self.grads["gamma"] = (dout * self.z_hat).sum(axis=0)
        dz_hat = dout * self.params["gamma"]
        centered, std = self.z - self.mu, np.sqrt(self.var + self.eps)
        dvar = (dz_hat * centered).sum(axis=0) * -0.5 * std ** -3
        dmu = -(dz_hat / std).sum(axis=0) + dvar * (-2 / m) * centered.sum(axis=0)
        return dz_hat / std + dvar * 2 * centered / m + dmu / m


mine = MyBatchNorm(3)
mine.params["gamma"], mine.params["beta"] = gamma, beta
upstream = rng.normal(size=z.shape)             # some dJ/dz̃
mine.forward(z, training=True)
dz_staged = mine.backward(upstream)
bn.forward(z, training=True)
dz_compact = bn.backward(upstream)
print(f"staged vs compact dz: largest difference {np.abs(dz_staged - dz_compact).max():.1e}")
print("dz summed over the batch, per unit:", np.round(dz_compact.sum(axis=0), 12))

# %% [markdown]
# Both give the same `dz`, and its columns sum to 0: shifting every `z_i` of a unit by the same
# amount changes nothing after the mean subtraction. (That is also why a `Dense` bias right
# before a batch norm is useless: its gradient is 0. The course: "b can be eliminated"; `β` takes
# its place.)
#
# Agreeing with each other is not proof. `tn.check_layer` checks a layer alone the CS231n way:
# a fixed random upstream gradient `G`, the scalar `J = Σ out ⊙ G`, and two-sided differences
# for every entry of the input and of every parameter.

# %%
print(tn.check_layer(MyBatchNorm(3), z))
print()
print(tn.check_layer(tn.BatchNorm(3), z))

# %% [markdown]
# ## 3. The classic bug: μ and σ² treated as constants
#
# The tempting shortcut is to differentiate `z̃ = γ (z − μ)/√(σ² + ε) + β` as if `μ` and `σ²`
# were fixed numbers: `dz = γ dz̃ / √(σ² + ε)`. It forgets two of the three paths. The forward
# pass is unchanged and nothing crashes: the network still trains, on wrong gradients.

# %%
class ConstantStatsBatchNorm(MyBatchNorm):
    """The bug: backward treats the batch mean and variance as constants."""

    def backward(self, dout):
        self.grads["beta"] = dout.sum(axis=0)
        self.grads["gamma"] = (dout * self.z_hat).sum(axis=0)
        return dout * self.params["gamma"] / np.sqrt(self.var + self.eps)


layer_report = tn.check_layer(ConstantStatsBatchNorm(3), z)
print(layer_report)

# %% [markdown]
# The `x` block (the input gradient `dz`) fails while `gamma` and `beta` pass: their formulas are
# right, the bug is in what the layer hands back. Inside a network the same bug shows up in the
# blocks *below* the faulty layer, because only they receive the wrong `dz`:

# %%
X, y = tn.datasets.load("spirals")

def small_net(norm, seed=0):
    return tn.Network([tn.Dense(2, 8), norm(8), tn.Tanh(), tn.Dense(8, 8), tn.BatchNorm(8),
                       tn.Tanh(), tn.Dense(8, 3)], loss=tn.SoftmaxCrossEntropy(), seed=seed)

good_report = small_net(MyBatchNorm).check_gradients(X[:64], y[:64])
buggy_report = small_net(ConstantStatsBatchNorm).check_gradients(X[:64], y[:64])
print(good_report)
print()
print(buggy_report)

# %% [markdown]
# ### What you should see
#
# - The hand-written staged layer and `tn.BatchNorm` both pass `check_layer`; the buggy one fails
#   its `x` block only.
# - In the network, the hand-written layer (`layers[1]`, right after the first `Dense`) passes.
#   With the bug, `W1` and `b1` fail, marked "because of layers[1]": they sit below the faulty
#   layer and receive its wrong `dz`. Everything from `gamma2` upwards passes. Reading the table
#   from the back, as the course advises, the error starts right below that layer, and the
#   report's last line says so for you: the root cause is `layers[1] ConstantStatsBatchNorm()`,
#   whose backward returns a wrong input gradient dx.
# - `b1`'s true gradient is 0 (the mean subtraction cancels the bias), so with the bug its
#   analytic gradient is pure error. In the correct networks it passes as round-off.

# %% [markdown]
# ## 4. A deep tanh network with and without batch norm
#
# Notebook 05 showed a deep tanh network whose weights are drawn too large: almost every unit
# saturates at ±1, where `tanh' ≈ 0`, and the gradient barely gets through. Batch norm re-centres
# and re-scales every pre-activation, so whatever the scale of `W[l]`, `ẑ` has mean 0 and
# variance 1 per unit when it reaches the tanh.
#
# The network: 7 hidden layers of 32 tanh units on the 3-class spirals, with or without
# `BatchNorm` between each `Dense` and its `Tanh`. `tn.ActivationMonitor` records, every 10
# training steps, the share of saturated tanh units (`|a| > 0.97`, makemore's threshold: there
# `1 − a² < 0.06`). First the weights are drawn too large, `normal` with std 1; three seeds each.

# %%
depth, width, seeds = 8, 32, (0, 1, 2)

def deep_tanh(batch_norm, seed, init="xavier", scale=None):
    layers, n_in = [], X.shape[1]
    for _ in range(depth - 1):
        layers.append(tn.Dense(n_in, width, init=init, scale=scale))
        if batch_norm:
            layers.append(tn.BatchNorm(width))
        layers.append(tn.Tanh())
        n_in = width
    layers.append(tn.Dense(n_in, 3, init=init, scale=scale))
    return tn.Network(layers, loss=tn.SoftmaxCrossEntropy(), seed=seed)

def mean_saturation(monitor):
    # share of saturated units over all tanh layers, one value per recorded step
    return np.mean([monitor.saturated[i] for i in monitor.saturated], axis=0)

saturation, large_init_accuracy, monitors = {}, {}, {}
for batch_norm in (False, True):
    for seed in seeds:
        net = deep_tanh(batch_norm, seed, init="normal", scale=1.0)
        monitor = tn.ActivationMonitor(every=10)
        net.fit(X, y, epochs=100, batch_size=64, optimizer=tn.SGD(lr=0.1),
                callbacks=[monitor], progress=False)
        saturation[batch_norm, seed] = mean_saturation(monitor)
        large_init_accuracy[batch_norm, seed] = net.score(X, y)
        monitors[batch_norm, seed] = monitor
    name = "with batch norm   " if batch_norm else "without batch norm"
    print(f"{name}: saturated share at the first step "
          + ", ".join(f"{saturation[batch_norm, s][0]:.0%}" for s in seeds)
          + "; at the last recorded step "
          + ", ".join(f"{saturation[batch_norm, s][-1]:.0%}" for s in seeds)
          + "; train accuracy " + ", ".join(f"{large_init_accuracy[batch_norm, s]:.1%}" for s in seeds))

fig, ax = plt.subplots(figsize=(7, 4))
for batch_norm, color in ((False, "tab:red"), (True, "tab:blue")):
    for seed in seeds:
        steps = monitors[batch_norm, seed].steps
        ax.plot(steps, saturation[batch_norm, seed], color=color, alpha=0.8,
                label=("with" if batch_norm else "without") + " batch norm" if seed == 0 else None)
ax.set(xlabel="training step", ylabel="share of saturated tanh units", ylim=(-0.02, 1.02),
       title="weights drawn with std 1: saturation during training (3 seeds each)")
ax.legend()
plt.show()

# %% [markdown]
# `tn.plot.activations` draws the monitor's full picture for one run of each: the histograms of
# the tanh outputs and of the gradients reaching them at the last recorded step, then per layer
# the saturation, the std of the activations and of the gradients, and the update-to-data ratio
# of each weight matrix over training. Without batch norm the histograms pile up at ±1.

# %%
fig = tn.plot.activations(monitors[False, 0])
fig.suptitle("without batch norm (weights with std 1, seed 0)")
plt.show()
fig = tn.plot.activations(monitors[True, 0])
fig.suptitle("with batch norm (weights with std 1, seed 0)")
plt.show()

# %% [markdown]
# ### What you should see
#
# - Without batch norm about half of the tanh units are saturated from the first step, and the
#   share does not go down with training; the accuracy printed above is poor and differs a lot
#   between the seeds.
# - With batch norm only a few percent are saturated, from the first step to the last (for a
#   standard normal `ẑ` the share with `|tanh ẑ| > 0.97` would be about 4 %), and every seed
#   trains to a high accuracy.
# - In the dashboards: without batch norm the activation histograms are two spikes at ±1, the
#   gradients reaching the first layers are orders of magnitude smaller than those reaching the
#   last ones (the "std of the gradients" panel), and the first weight matrices barely move
#   (update-to-data ratios far below makemore's guide of 1e-3, the dotted line). With batch norm
#   the activations spread over (−1, 1), the gradients of all layers have similar sizes, and
#   the update ratios sit around the dotted line.
#
# ### The range of learning rates that train
#
# Now with the course's Xavier initialization for both, so that the network without batch norm
# gets a fair start. The same training for learning rates from 0.003 to 1, three seeds each,
# 100 epochs of mini-batch gradient descent with batches of 64.

# %%
learning_rates = [0.003, 0.01, 0.03, 0.1, 0.3, 1.0]
accuracy = {}
for batch_norm in (False, True):
    for lr in learning_rates:
        for seed in seeds:
            net = deep_tanh(batch_norm, seed)
            net.fit(X, y, epochs=100, batch_size=64, optimizer=tn.SGD(lr=lr), progress=False)
            accuracy[batch_norm, lr, seed] = net.score(X, y)

print(f"{'learning rate':>13} | {'without batch norm (3 seeds)':^30} | {'with batch norm (3 seeds)':^30}")
for lr in learning_rates:
    cells = [" ".join(f"{accuracy[bn, lr, s]:6.1%}" for s in seeds) for bn in (False, True)]
    print(f"{lr:>13} | {cells[0]:^30} | {cells[1]:^30}")

fig, ax = plt.subplots(figsize=(7, 4))
for batch_norm, color in ((False, "tab:red"), (True, "tab:blue")):
    values = np.array([[accuracy[batch_norm, lr, s] for s in seeds] for lr in learning_rates])
    ax.fill_between(learning_rates, values.min(axis=1), values.max(axis=1), color=color, alpha=0.2)
    ax.plot(learning_rates, values.mean(axis=1), "o-", color=color,
            label=("with" if batch_norm else "without") + " batch norm (mean, min to max)")
ax.set_xscale("log")
ax.set(xlabel="learning rate", ylabel="training accuracy", ylim=(0, 1.02),
       title="deep tanh network, Xavier weights, 100 epochs")
ax.axhline(1 / 3, color="gray", linestyle=":", linewidth=1)
ax.legend()
plt.show()

# %% [markdown]
# ### What you should see
#
# - Without batch norm, only the middle learning rates (0.03 to 0.3) train well. At 0.003 the
#   network has learned little after 100 epochs; at 1 training breaks down, on some seeds all
#   the way to chance level (the dotted line, one class in three).
# - With batch norm, every learning rate from 0.003 to 1 reaches a high accuracy on every seed.
#   Since each layer's input is re-normalized, a step that changes `W[l]` a lot cannot blow up
#   the scale of what the next layers see: the cost is far less sensitive to the learning rate,
#   which is one of the reasons the lecture gives for batch norm's speed-up.

# %% [markdown]
# ## 5. Training mode vs inference mode
#
# In training mode a batch-norm layer uses the statistics of the current mini-batch, so an
# example's output depends on the other examples in its batch. At test time there may be a
# single example. The course's answer: keep an exponentially weighted average of `μ` and `σ²`
# during training and use it at test time. tinynet follows PyTorch:
# `running = (1 − momentum)·running + momentum·batch` with `momentum = 0.1`, the running
# variance from the unbiased batch variance (divide by `m − 1`). These running statistics are
# *buffers*: state that is not a parameter (not in θ, no gradient) but belongs to the model:
# `net.save` stores them with the parameters, and a gradient check puts them back afterwards.

# %%
net = deep_tanh(True, seed=0)
net.fit(X, y, epochs=100, batch_size=64, optimizer=tn.SGD(lr=0.1), progress=False)
print(net)
first_bn = net.layers[1]

# the same example in two different batches, in training mode
example = X[:1]
out_a = net.forward(np.vstack([example, X[1:8]]), training=True)[0]
out_b = net.forward(np.vstack([example, X[100:107]]), training=True)[0]
print("training mode, same example in two batches: scores", np.round(out_a, 3), "vs", np.round(out_b, 3))
# inference mode: the running statistics, whatever the batch
out_c = net.forward(np.vstack([example, X[1:8]]))[0]
out_d = net.forward(example)[0]
print("inference mode, in a batch and alone:        scores", np.round(out_c, 3), "vs", np.round(out_d, 3))

try:
    net.forward(example, training=True)
except ValueError as error:
    print("one example in training mode:", error)

# %% [markdown]
# The two `forward(..., training=True)` calls above also updated the running statistics, as a
# training step would: inference mode reads them, so a model should be evaluated with
# `training=False` (what `predict`, `predict_proba` and `score` do).
#
# How good are the running statistics? Compare them with the mean and variance of the first
# batch-norm layer's input over the whole training set, computed in inference mode.

# %%
z1 = net.layers[0].forward(X)                 # the input of the first BatchNorm, every example
print("running mean vs mean over the training set, first 4 units:")
print("  ", np.round(first_bn.buffers["running_mean"][:4], 3))
print("  ", np.round(z1.mean(axis=0)[:4], 3))
print("running variance vs variance over the training set, first 4 units:")
print("  ", np.round(first_bn.buffers["running_var"][:4], 3))
print("  ", np.round(z1.var(axis=0)[:4], 3))
gap = np.abs(first_bn.buffers["running_mean"] - z1.mean(axis=0)) / z1.std(axis=0)
print(f"largest gap between the means, in standard deviations: {gap.max():.2f}")
inference_accuracy = net.score(X, y)           # before the training-mode pass below updates them
train_mode_accuracy = np.mean(net.forward(X, training=True).argmax(axis=1) == y)
print(f"accuracy with full-batch statistics {train_mode_accuracy:.1%}, "
      f"with the running statistics (predict) {inference_accuracy:.1%}")

# a gradient check runs many forward passes in training mode, then restores the statistics
saved = [(layer, name, value.copy()) for layer in net.layers
         for name, value in layer.buffers.items()]
check = net.check_gradients(X[:64], y[:64])
buffers_unchanged = all(np.array_equal(layer.buffers[name], before) for layer, name, before in saved)
print(f"gradient check passed: {check.passed}; running statistics unchanged by it: "
      f"{buffers_unchanged}")

# %% [markdown]
# ### What you should see
#
# - In training mode the same example gets different scores in different batches; in inference
#   mode its scores are the same in a batch and alone (up to the last bits of rounding). One example in training mode is refused
#   with an error that says what to do instead.
# - The summary lists the running statistics as buffers next to `gamma` and `beta`; they are not
#   counted as parameters.
# - The running averages are close to the statistics of the whole training set (the largest gap
#   printed is a small fraction of a standard deviation), and the accuracy with them is close to
#   the accuracy with full-batch statistics.
# - The gradient check of this trained network passes and leaves its running statistics exactly
#   as they were, although it ran the network forward in training mode thousands of times.
