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
# on the moons data set.

# %%
X, y = tn.datasets.load("moons")
depth, width = 10, 32

def deep_net(activation, init, scale=None):
    layers, n_in = [], X.shape[1]
    for _ in range(depth - 1):
        layers += [tn.Dense(n_in, width, init=init, scale=scale), activation()]
        n_in = width
    layers.append(tn.Dense(n_in, 1, init=init, scale=scale))
    return tn.Network(layers, loss=tn.SigmoidCrossEntropy(), seed=1)

configs = {
    "ReLU": [("small: normal, std 0.01", "normal", 0.01),
             ("large: normal, std 0.5", "normal", 0.5),
             ("He", "he", None)],
    "tanh": [("small: normal, std 0.01", "normal", 0.01),
             ("large: normal, std 1.0", "normal", 1.0),
             ("Xavier", "xavier", None)],
}
activations = {"ReLU": tn.ReLU, "tanh": tn.Tanh}

fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, (act, cases) in zip(axes, configs.items()):
    for label, init, scale in cases:
        net = deep_net(activations[act], init, scale)
        s = activation_sizes(net, X)[:-1]   # hidden layers 1..9 (the last one is the output score)
        ax.semilogy(np.arange(1, depth), s, "o-", label=label)
        print(f"{act:>4} {label:<24} rms(a[l]) for l = 1..9: " + " ".join(f"{v:.1e}" for v in s))
    ax.set(xlabel="hidden layer l", ylabel="rms(a[l])", title=f"{act}: activations at initialization")
    ax.legend(fontsize="small")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### What you should see
#
# - **small** weights: every layer shrinks its input by a constant factor (about `0.01·√32`, times
#   another half for ReLU), so the activations vanish geometrically, by many orders of magnitude
#   at layer 9.
# - **large** weights: ReLU activations grow geometrically; tanh cannot grow past 1 per unit, so it
#   *saturates*: almost every unit sits at ±1, where `tanh' ≈ 0`.
# - **He** (ReLU) and **Xavier** (tanh): flat lines. The size of `a[l]` stays of the order of 1 at
#   every depth, which is what the variance `2/n[l-1]` or `1/n[l-1]` was chosen for.
#
# Now the gradients. The bias gradient `db[l] = Σ_examples dZ[l]` is the signal that
# backpropagation carries down to layer `l`, so its size per layer shows directly where it vanishes
# or explodes. We take one full-batch `cost_and_grad` at initialization.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, (act, cases) in zip(axes, configs.items()):
    for label, init, scale in cases:
        net = deep_net(activations[act], init, scale)
        J, _ = net.cost_and_grad(X, y)
        grads = net.gradients()
        db = np.array([np.linalg.norm(grads[f"b{l}"]) for l in range(1, depth)])
        ax.semilogy(np.arange(1, depth), db, "o-", label=label)
        print(f"{act:>4} {label:<24} J = {J:9.3g}   ‖db[l]‖ from {db.min():.1e} to {db.max():.1e}"
              f"   max/min = {db.max() / db.min():.1e}")
    ax.set(xlabel="layer l", ylabel="‖db[l]‖", title=f"{act}: backprop signal per layer at initialization")
    ax.legend(fontsize="small")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### What you should see
#
# - **small**: the gradients are tiny everywhere, and for ReLU they fall by orders of magnitude on
#   the way from the last layer to the first: the *vanishing gradient*. The cost sits at `log 2`
#   (the output is 0.5 for every example).
# - **large**: a huge initial cost for ReLU and gradients that grow towards the first layers
#   (*exploding*); for tanh, the saturated units pass the gradient on unevenly, with the first
#   layers' bias gradients far larger than the last ones'.
# - **He / Xavier**: the printed `max/min` ratio across the layers is the smallest: the gradient
#   reaches every layer with about the same size.
#
# Finally, training. `tn.GradientNormMonitor` records `‖dW[l]‖` and `‖db[l]‖` after every epoch
# (from the epoch's last mini-batch) and `tn.plot.gradient_norms` draws them; we show the weight
# blocks only, one curve per layer. Same optimizer for all: mini-batch gradient descent, learning
# rate 0.01, batches of 64, 300 epochs.

# %%
fig, axes = plt.subplots(2, 3, figsize=(15, 8), sharey=True)
for row, (act, cases) in zip(axes, configs.items()):
    for ax, (label, init, scale) in zip(row, cases):
        net = deep_net(activations[act], init, scale)
        monitor = tn.GradientNormMonitor()
        history = net.fit(X, y, epochs=300, batch_size=64, optimizer=tn.SGD(lr=0.01),
                          callbacks=[monitor], progress=False)
        weights = {k: v for k, v in monitor.norms.items() if k.startswith("W")}
        tn.plot.gradient_norms(weights, ax=ax)
        last = np.array([v[-1] for v in weights.values()])
        ax.set_title(f"{act}, {label}\ntrain accuracy {net.score(X, y):.1%}", fontsize="medium")
        ax.legend().remove()
        print(f"{act:>4} {label:<24} accuracy {net.score(X, y):6.1%}   last epoch ‖dW[l]‖ from "
              f"{last.min():.1e} to {last.max():.1e}")
axes[0, 0].legend(fontsize="x-small", ncol=2)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### What you should see
#
# - **small** init: the weight gradients stay many orders of magnitude below 1 for the whole
#   training, the network never leaves its starting point and the training accuracy is 50%, a coin
#   flip. This is the vanishing gradient in practice: nothing is wrong with the code, the signal
#   simply does not arrive.
# - **large** init: the first epochs' norms are the largest of all six panels (the ReLU network
#   starts with a huge cost), and for tanh the first layers' curves stay above the last ones' for
#   the whole run. The moons problem is easy and the learning rate small, so gradient descent
#   recovers here; with the larger steps a harder problem needs, such a start can diverge (tinynet
#   then stops `fit` with a `FloatingPointError` that names the epoch and batch).
# - **He** and **Xavier**: all ten curves stay together in a narrow band around 0.1–1, from the
#   first epoch to the last, and the network learns the moons.
#
# The course's conclusion: initialization does not fix vanishing or exploding gradients for every
# depth, but choosing `Var(W[l])` from the layer's fan-in keeps each layer's output, and so each
# layer's gradient, at a sensible scale, which is often what makes a deep network trainable at all.
