# Source of notebooks/05_vanishing_exploding_gradients.ipynb, in the percent format of build.py:
#     python notebooks/_build/build.py 05

# %% [markdown]
# # 05 · Vanishing and exploding gradients
#
# *Following deeplearning.ai Course 2, week 1: "Vanishing / exploding gradients" and
# "Weight initialization for deep networks".*
#
# In a deep network the forward pass multiplies the input by one weight matrix per layer, and
# backpropagation multiplies the gradient by the same matrices, transposed, on the way back. If each
# factor is a little larger than 1 the product **explodes** with the depth L; a little smaller than 1
# and it **vanishes**. This notebook shows both effects:
#
# 1. in a deep *linear* network with every `W[l]` set to `1.5·I` or `0.5·I` (the lecture's example);
# 2. in a deep ReLU and a deep tanh network whose weights are drawn too small, too large, or with
#    the course's fix: **He** initialization (`Var(W[l]) = 2 / n[l-1]`, for ReLU) and **Xavier**
#    (`Var(W[l]) = 1 / n[l-1]`, for tanh).

# %%
%matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

# %% [markdown]
# ## 1. A deep linear network
#
# With no activation function, `a[l] = W[l] a[l-1] + b[l]`. Take `b[l] = 0` and `W[l] = w·I` for all
# `L` layers: then `a[l] = w^l · x`, and the output is `ŷ = w^L · x`. With `w = 1.5` the activations
# grow like `1.5^l`; with `w = 0.5` they shrink like `0.5^l`.
#
# In tinynet a linear layer is a `Dense` layer with nothing after it, so the network is just
# `L` `Dense(n, n)` layers. We load the weights with `net.set_parameters`, the way the course's
# notebooks load a parameter dictionary, and measure the size of every layer's output by running
# the layers' `forward` one after the other.

# %%
n, L = 4, 15                                    # width and depth
X = np.random.default_rng(0).normal(size=(8, n))  # 8 examples (rows), n features
Y = np.zeros((8, n))                            # targets for a mean-squared-error cost

def linear_net(w):
    # L Dense(n, n) layers, W[l] = w·I and b[l] = 0
    net = tn.Network([tn.Dense(n, n) for _ in range(L)], loss=tn.MeanSquaredError(), seed=0)
    net.set_parameters({name: w * np.eye(n) if name.startswith("W") else np.zeros(n)
                        for name in net.parameters()})
    return net

def rms(a):
    # root mean square size of one example's activation vector, averaged over the batch
    return float(np.sqrt(np.mean(np.sum(a ** 2, axis=1))))

def activation_sizes(net, X):
    # rms(a[l]) for l = 1..L, where a[l] is what layer l (Dense + its activation) hands on
    sizes, a = [], X
    for i, layer in enumerate(net.layers):
        a = layer.forward(a)
        last_of_block = i + 1 == len(net.layers) or isinstance(net.layers[i + 1], tn.Dense)
        if last_of_block:
            sizes.append(rms(a))
    return np.array(sizes)

nets = {w: linear_net(w) for w in (1.5, 0.5)}
sizes = {w: activation_sizes(net, X) for w, net in nets.items()}
print(f"rms(x) = {rms(X):.3f}")
print(f"{'l':>3} {'rms(a[l]), w=1.5':>18} {'1.5^l·rms(x)':>14} {'rms(a[l]), w=0.5':>18} {'0.5^l·rms(x)':>14}")
for l in range(1, L + 1):
    print(f"{l:>3} {sizes[1.5][l-1]:>18.4g} {1.5**l * rms(X):>14.4g} "
          f"{sizes[0.5][l-1]:>18.4g} {0.5**l * rms(X):>14.4g}")

# %% [markdown]
# The measured sizes equal `w^l · rms(x)` exactly: each layer multiplies by `w`. Now the gradients.
# With the cost `J = mean((ŷ − y)²)` and `y = 0`, backpropagation sends `dZ[L] ∝ ŷ ∝ w^L` back
# through `L − l` more factors of `w`, so `db[l] ∝ w^(2L−l)`: it grows towards the first layers when
# `w > 1` and shrinks towards them when `w < 1`. For `dW[l] = dZ[l]ᵀ a[l-1]` the two effects
# cancel (`w^(2L−l) · w^(l−1)`), so every `dW[l]` has the same size, `∝ w^(2L−1)`: astronomically
# large or small.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
layers = np.arange(1, L + 1)
for w, color in ((1.5, "tab:red"), (0.5, "tab:blue")):
    axes[0].semilogy(layers, sizes[w], "o-", color=color, label=f"W[l] = {w}·I")
    axes[0].semilogy(layers, w ** layers * rms(X), ":", color="gray")
    J, _ = nets[w].cost_and_grad(X, Y)
    grads = nets[w].gradients()
    dW = np.array([np.linalg.norm(grads[f"W{l}"]) for l in layers])
    db = np.array([np.linalg.norm(grads[f"b{l}"]) for l in layers])
    axes[1].semilogy(layers, dW, "o-", color=color, label=f"‖dW[l]‖, w = {w}")
    axes[1].semilogy(layers, db, "s--", color=color, label=f"‖db[l]‖, w = {w}")
    print(f"w = {w}: J = {J:.3e};  ‖dW[l]‖ from {dW.min():.2e} to {dW.max():.2e};  "
          f"‖db[1]‖ / ‖db[L]‖ = {db[0] / db[-1]:.3e}  (w^(L-1) = {w ** (L - 1):.3e})")
axes[0].set(xlabel="layer l", ylabel="rms(a[l])", title="activations: w^l (dotted)")
axes[1].set(xlabel="layer l", ylabel="gradient norm", title="gradients of J = mean((ŷ − 0)²)")
for ax in axes:
    ax.legend(fontsize="small")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### What you should see
#
# - Left: two straight lines on the log scale, one climbing (`1.5^l`) and one falling (`0.5^l`),
#   exactly on the dotted predictions. After only 15 layers the activations are more than two
#   orders of magnitude above the input (w = 1.5) or four below it (w = 0.5); at the depths of
#   real networks (50, 100, 150 layers) the gap is dozens of orders of magnitude.
# - Right: the ratio `‖db[1]‖ / ‖db[L]‖` printed above equals `w^(L-1)`: the bias gradients grow
#   (w = 1.5) or shrink (w = 0.5) geometrically towards the input. The weight gradients are flat
#   across layers but sit far away from 1 in both cases: a learning rate that suits one of these
#   networks is useless for the other.

# %% [markdown]
# ## 2. Initialization of a deep ReLU or tanh network
#
# The lecture's remedy: draw `W[l]` with variance chosen so that `z[l] = W[l] a[l-1]` has about the
# same size as `a[l-1]`. With `n[l-1]` inputs that means `Var(W[l]) = 2 / n[l-1]` for ReLU
# (**He**; the 2 makes up for ReLU zeroing half of its inputs) and `1 / n[l-1]` for tanh
# (**Xavier**). tinynet's `Dense(n_in, n_out, init=...)` offers `"he"`, `"xavier"`, and `"normal"`
# with a fixed standard deviation `scale`, which we use for the bad choices: `scale=0.01` (the
# course's "small random" values) and a large one.
#
# The network: 10 `Dense` layers of width 32 with ReLU or tanh between them, one sigmoid output,
# on the moons data set. To look inside it we use `tn.ActivationMonitor`, the diagnostics of
# Karpathy's *makemore* part 3: `monitor.measure(net, X, y)` runs one forward pass (and one
# backward pass) and records, for every activation layer, the mean and std of its output, the share
# of **saturated** tanh units (`|a| > 0.97`, where `tanh' = 1 − a² < 0.06`) and of **dead** ReLU
# units (0 for every example), and the gradient that reaches it. During `fit` the same monitor
# samples every k-th training step.

# %%
X, y = tn.datasets.load("moons")
depth, width = 10, 32

def deep_net(activation, init, scale=0.01, seed=1):
    layers, n_in = [], X.shape[1]
    for _ in range(depth - 1):
        layers += [tn.Dense(n_in, width, init=init, scale=scale), activation()]
        n_in = width
    layers.append(tn.Dense(n_in, 1, init=init, scale=scale))
    return tn.Network(layers, loss=tn.SigmoidCrossEntropy(), seed=seed)

configs = {
    "ReLU": [("small: normal, std 0.01", "normal", 0.01),
             ("large: normal, std 0.5", "normal", 0.5),
             ("He", "he", None)],
    "tanh": [("small: normal, std 0.01", "normal", 0.01),
             ("large: normal, std 1.0", "normal", 1.0),
             ("Xavier", "xavier", None)],
}
activations = {"ReLU": tn.ReLU, "tanh": tn.Tanh}

def build(act, init, scale, seed=1):
    return deep_net(activations[act], init, scale if scale else 0.01, seed)

at_init = {}     # (act, label) -> the monitor's measurement at initialization
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, (act, cases) in zip(axes, configs.items()):
    for label, init, scale in cases:
        monitor = tn.ActivationMonitor().measure(build(act, init, scale), X, y)
        at_init[act, label] = monitor
        std = np.array([values[0] for values in monitor.std.values()])   # hidden layers 1..9
        shares = monitor.saturated if act == "tanh" else monitor.dead
        share = np.mean([values[0] for values in shares.values()])
        ax.semilogy(np.arange(1, depth), std, "o-", label=label)
        kind = "saturated" if act == "tanh" else "dead"
        print(f"{act:>4} {label:<24} std(a[l]) for l = 1..9: " + " ".join(f"{v:.1e}" for v in std)
              + f"   {kind}: {share:.0%}")
    ax.set(xlabel="hidden layer l", ylabel="std of a[l]", title=f"{act}: activations at initialization")
    ax.legend(fontsize="small")
plt.tight_layout()
plt.show()

# How much each layer multiplies the size of its input (geometric mean over layers 2..9, whose
# fan-in is 32), measured and predicted, for the small weights and the large ReLU ones
factor = {}
for act, label, predicted in (("ReLU", "small: normal, std 0.01", 0.01 * np.sqrt(width / 2)),
                              ("tanh", "small: normal, std 0.01", 0.01 * np.sqrt(width)),
                              ("ReLU", "large: normal, std 0.5", 0.5 * np.sqrt(width / 2))):
    std = np.array([v[0] for v in at_init[act, label].std.values()])
    measured = np.exp(np.mean(np.log(std[2:] / std[1:-1])))
    factor[act, label] = (measured, predicted)
    print(f"{act}, {label}: std(a[l]) / std(a[l-1]) = {measured:.3f} per layer, predicted {predicted:.3f}")

# %% [markdown]
# Why those factors: each unit of `z[l]` sums `n[l-1] = 32` terms `W·a`, so with weights of std
# 0.01 its std is `0.01·√32 ≈ 0.057` times that of `a[l-1]`; tanh is the identity for such small
# inputs, so the tanh network shrinks by that factor per layer. ReLU zeroes the negative half of
# `z`, which keeps `√½` of its root-mean-square size, so the ReLU network shrinks by
# `0.01·√32·√½ ≈ 0.040` per layer. The printed lines compare these predictions with the measured
# ratios; the same computation with std 0.5 gives `0.5·√32·√½ = 2` for the large ReLU network: it
# doubles at every layer. (The measured ReLU factors come out a little lower than predicted: with
# only 2 input features, a few units are negative for every example, i.e. dead.)
#
# The histograms of the large-weight and the Xavier tanh networks show what "saturated" means:
# `tn.plot.activations(net, X, y)` draws, per hidden layer, the distribution of its outputs and of
# the gradients reaching them.

# %%
fig, axes = plt.subplots(2, 2, figsize=(12, 7))
for row, (label, init, scale) in zip(axes, [configs["tanh"][1], configs["tanh"][2]]):
    tn.plot.activations(build("tanh", init, scale), X, y, axes=row)
    row[0].set_title(f"tanh, {label}: outputs of the 9 tanh layers")
    row[1].set_title(f"tanh, {label}: gradients reaching them")
    row[0].legend().remove()
    row[1].legend().remove()
plt.tight_layout()
plt.show()

# %% [markdown]
# ### What you should see
#
# - **small** weights: every layer shrinks its input by the printed factor, so the activations
#   vanish geometrically, by many orders of magnitude at layer 9.
# - **large** weights: ReLU activations grow geometrically (the printed factor); tanh cannot grow
#   past 1 per unit, so it *saturates*: the printed saturated share is well over half the units,
#   and the top-left histogram piles up at −1 and +1, where `tanh' ≈ 0`. The Xavier histograms
#   below it are spread over (−1, 1) with almost no unit saturated.
# - **He** (ReLU) and **Xavier** (tanh): nearly flat lines. The size of `a[l]` stays of the same
#   order at every depth, which is what the variance `2/n[l-1]` or `1/n[l-1]` was chosen for.
#   (Some ReLU units are dead even with He: with only 2 input features, the deeper layers see a
#   low-dimensional input, and a few units are negative on all of it.)
#
# Now the gradients. The signal that backpropagation carries down to layer `l` is `dZ[l]`, one row
# per example: `dW[l] = dZ[l]ᵀ a[l-1]` is built from it. We measure its size per example with the
# monitor, watching the `Dense` layers (`layers=` their indices), whose `grad_std` is the std of
# the entries of `dZ[l]`. The bias gradient `db[l] = Σ_examples dZ[l]` would be a poor measure: at
# initialization the output is about 0.5 for every example and the labels are balanced, so the
# examples' `dZ[L] = (ŷ − y)/m` are about +0.5/m and −0.5/m, and their sum nearly cancels.

# %%
signal = {}      # (act, label) -> std of dZ[l] for l = 1..10
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, (act, cases) in zip(axes, configs.items()):
    for label, init, scale in cases:
        net = build(act, init, scale)
        dense = [i for i, layer in enumerate(net.layers) if isinstance(layer, tn.Dense)]
        monitor = tn.ActivationMonitor(layers=dense).measure(net, X, y)
        dZ = np.array([monitor.grad_std[i][0] for i in dense])
        signal[act, label] = dZ
        hidden = dZ[:-1]                     # layers 1..9; layer 10's dZ is the output's ŷ − y
        ax.semilogy(np.arange(1, depth + 1), dZ, "o-", label=label)
        print(f"{act:>4} {label:<24} J = {net.cost(X, y):9.3g}   std(dZ[l]), l = 1..9: from "
              f"{hidden.min():.1e} to {hidden.max():.1e}   dZ[1] / dZ[9] = {hidden[0] / hidden[-1]:.1e}")
    ax.set(xlabel="layer l", ylabel="std of dZ[l]",
           title=f"{act}: the signal backprop carries, at initialization")
    ax.legend(fontsize="small")
plt.tight_layout()
plt.show()

cancelled = {}   # label -> (|Σ dZ[10]|, Σ |dZ[10]|) for the tanh networks
for label, init, scale in configs["tanh"]:
    net = build("tanh", init, scale)
    net.cost_and_grad(X, y)
    dZ = net.loss.backward()               # (m, 1): each example's dZ[10] = (ŷ − y) / m
    cancelled[label] = (np.linalg.norm(net.gradients()["b10"]), np.abs(dZ).sum())
    print(f"tanh {label:<24} ‖db[10]‖ = |Σ dZ[10]| = {cancelled[label][0]:.1e}   "
          f"Σ |dZ[10]| = {cancelled[label][1]:.1e}")

# %% [markdown]
# ### What you should see
#
# - **small**: the signal falls by orders of magnitude on the way from the last layer to the first,
#   for ReLU and for tanh (the printed `dZ[1] / dZ[9]` is tiny): the *vanishing gradient*. The cost
#   sits at `log 2` (the output is 0.5 for every example).
# - **large**: the opposite, the signal *grows* towards the first layers (`dZ[1] / dZ[9]` far above
#   1): the *exploding gradient*, for ReLU with a huge initial cost, and for tanh too, although its
#   saturated units pass on only a fraction of it.
# - **He / Xavier**: the hidden layers' lines are nearly flat (the printed range spans a factor of a
#   few): the gradient reaches every layer with about the same size.
# - The last three lines: at the output the examples' gradients are not small (`Σ |dZ[10]|` is
#   about 0.5), but their sum `db[10]` is smaller, because they point in opposite directions; for
#   the small init, whose output is the same for every example, it is orders of magnitude smaller.
#   Measured with `‖db[l]‖`, this network would seem to receive no signal at all.
#
# Finally, training, with the same optimizer for all: mini-batch gradient descent, learning rate
# 0.01, batches of 64, 300 epochs. A single run can be lucky or unlucky, so every configuration
# is trained from 3 different random initializations (seeds 1, 2, 3). For the first seed an
# `ActivationMonitor` samples every 10th step; we plot its **update-to-data ratio** per weight
# matrix, `‖ΔW[l]‖ / ‖W[l]‖`: how much of each layer one step changes. Karpathy's rule of thumb is
# about 1e-3; far below it a layer hardly learns.

# %%
seeds = (1, 2, 3)
runs = {}       # (act, label) -> {"accuracy": [...], "loss": [per-epoch mean over seeds], "monitor": ...}
fig, axes = plt.subplots(2, 3, figsize=(15, 8), sharey=True)
for row, (act, cases) in zip(axes, configs.items()):
    for ax, (label, init, scale) in zip(row, cases):
        accuracy, losses, monitor = [], [], tn.ActivationMonitor(every=10)
        for seed in seeds:
            net = build(act, init, scale, seed)
            try:
                history = net.fit(X, y, epochs=300, batch_size=64, optimizer=tn.SGD(lr=0.01),
                                  callbacks=[monitor] if seed == seeds[0] else [], progress=False)
            except FloatingPointError as error:     # the loss became inf or NaN: the run diverged
                print(f"{act:>4} {label:<24} seed {seed}: diverged ({error.history.epochs} epochs)")
                accuracy.append(np.nan)
                continue
            accuracy.append(net.score(X, y))
            losses.append(history["loss"])
        runs[act, label] = {"accuracy": np.array(accuracy), "loss": np.mean(losses, axis=0),
                            "monitor": monitor}
        weights = {k: v for k, v in monitor.update_ratio.items() if k.startswith("W")}
        for l, (name, ratio) in enumerate(weights.items()):
            ax.semilogy(monitor.steps, np.maximum(ratio, 1e-16), color=plt.cm.viridis(l / 9),
                        label=name)
        ax.axhline(1e-3, color="gray", linestyle=":")
        ax.set_title(f"{act}, {label}\naccuracy per seed: "
                     + ", ".join("diverged" if np.isnan(a) else f"{a:.0%}" for a in accuracy),
                     fontsize="medium")
        ax.set_xlabel("training step")
        first, last = np.median(weights["W1"]), np.median(weights["W10"])
        print(f"{act:>4} {label:<24} accuracy per seed " + " ".join(f"{a:6.1%}" for a in accuracy)
              + f"   J after epochs 1 / 10 / 300 (mean): {runs[act, label]['loss'][0]:.3g} / "
              f"{runs[act, label]['loss'][9]:.3g} / {runs[act, label]['loss'][-1]:.3g}"
              f"   median update ratio W1 {first:.1e}, W10 {last:.1e}")
for row in axes:
    row[0].set_ylabel("‖ΔW[l]‖ / ‖W[l]‖")
axes[0, 0].legend(fontsize="x-small", ncol=2)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### What you should see
#
# - **small** init: the update ratios stay many orders of magnitude below 1e-3 for the whole
#   training (for ReLU, `W1`'s steps are even below the rounding of `W1` itself: the weights do not
#   change at all, drawn at the bottom of the plot), the cost stays at `log 2` and the accuracy at
#   50%, a coin flip, on every seed. This is the vanishing gradient in practice: nothing is wrong
#   with the code, the signal simply does not arrive.
# - **large** init: a much higher cost after the first epoch than He or Xavier (the J printed for
#   epoch 1), and for tanh a slow start: its cost after 10 epochs is still well above Xavier's,
#   while its first layers, which receive the exploded gradient, change several times faster than its
#   last ones (the median ratios of `W1` and `W10`). The moons are an easy problem and the
#   learning rate is small, so gradient descent usually recovers here and the final accuracies are
#   high; with larger steps such a start can diverge (tinynet then stops `fit` with a
#   `FloatingPointError` that names the epoch and batch, and this notebook prints "diverged").
# - **He** and **Xavier**: every layer's ratio stays in one band around 1e-4 to 1e-3 from the
#   first step to the last, and the network learns the moons on every seed.
#
# The final accuracies of large, He and Xavier are close on this easy problem and differ from one
# seed (and one machine) to the next; what initialization decides reliably is whether the signal
# arrives and how training starts. The course's conclusion: initialization does not fix
# vanishing or exploding gradients for every depth, but choosing `Var(W[l])` from the layer's
# fan-in keeps each layer's output, and so each layer's gradient, at a sensible scale, which is
# often what makes a deep network trainable at all.
