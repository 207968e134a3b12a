# %% [markdown]
# # 02 · Initialization
#
# *Following deeplearning.ai Course 2, week 1: "Weight initialization for deep networks" and the
# "Initialization" programming assignment.*
#
# The same network, the same data, the same optimizer, only the initial W[l] differ:
#
# - **zeros**: W[l] = 0;
# - **large random**: W[l] ~ N(0, 10²), the course's `np.random.randn(...) * 10`;
# - **He**: W[l] ~ N(0, 2/n[l−1]), the course's recommendation for ReLU networks;
# - **Xavier** (N(0, 1/n[l−1])) and **Glorot** (N(0, 2/(n[l−1] + n[l]))), the variants the
#   lecture mentions for tanh.
#
# b[l] starts at 0 in every case. The model is the course's 3-layer LINEAR → RELU → LINEAR → RELU →
# LINEAR → SIGMOID network with layer sizes [2, 10, 5, 1], trained with plain gradient descent
# (learning rate 0.01) on the full batch, for the course's 15000 iterations.

# %%
%matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

# %% [markdown]
# ## The data: two circles
#
# tinynet ships the circles used here: 300 training points and 100 test points drawn
# separately, like the course's `load_dataset()`. The inner circle is class 1, the outer class 0;
# no straight line separates them.

# %%
X_train, y_train = tn.datasets.load("circles_train")
X_test, y_test = tn.datasets.load("circles_test")
print("X_train", X_train.shape, " X_test", X_test.shape, " class counts (train):", np.bincount(y_train))

fig, ax = plt.subplots(figsize=(4, 4))
ax.scatter(X_train[:, 0], X_train[:, 1], c=y_train, cmap="Spectral", edgecolors="k", s=20)
ax.set_title("circles_train"); ax.set_aspect("equal")
plt.show()

# %% [markdown]
# ## One model, five initializations

# %%
def model(init, scale=None, seed=3):
    """[2, 10, 5, 1]: Dense-ReLU-Dense-ReLU-Dense, sigmoid cross-entropy."""
    return tn.Network([tn.Dense(2, 10, init=init, scale=scale), tn.ReLU(),
                       tn.Dense(10, 5, init=init, scale=scale), tn.ReLU(),
                       tn.Dense(5, 1, init=init, scale=scale)],
                      loss=tn.SigmoidCrossEntropy(), seed=seed)

ITERATIONS = 15000          # the course's num_iterations; each epoch is one full-batch step
inits = {"zeros": ("zeros", None), "large random (scale=10)": ("normal", 10.0),
         "He": ("he", None), "Xavier": ("xavier", None), "Glorot": ("glorot", None)}
nets, histories = {}, {}
for name, (init, scale) in inits.items():
    net = model(init, scale)
    histories[name] = net.fit(X_train, y_train, epochs=ITERATIONS, optimizer=tn.SGD(lr=0.01),
                              progress=False)
    nets[name] = net

print(f"{'initialization':<25} {'cost at start':>13} {'cost at end':>11} {'train acc':>9} {'test acc':>8}")
for name, net in nets.items():
    loss = histories[name]["loss"]
    print(f"{name:<25} {loss[0]:>13.4f} {loss[-1]:>11.4f} "
          f"{net.score(X_train, y_train):>9.4f} {net.score(X_test, y_test):>8.4f}")

# %% [markdown]
# The course's numbers for its own data set, for comparison: zeros 50% train and test
# accuracy (the course's values), large random 83% train and 86% test, He 99% train and
# 96% test (as the course reports them).

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for name, history in histories.items():
    ax.plot(np.arange(1, ITERATIONS + 1), history["loss"], label=name)
ax.set_yscale("log"); ax.set_xlabel("iteration"); ax.set_ylabel("cost J")
ax.set_title("cost during training, learning rate 0.01"); ax.legend()
plt.show()

# %%
fig, axes = plt.subplots(1, 5, figsize=(20, 4))
for ax, (name, net) in zip(axes, nets.items()):
    tn.plot.decision_boundary(net, X_train, y_train, ax=ax,
                              title=f"{name}: test acc {net.score(X_test, y_test):.2f}")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Why zeros cannot break symmetry
#
# With W[l] = 0 every hidden unit of a layer computes the same function of the input, so every
# one of them receives the same gradient and takes the same step: they stay copies of each other
# forever, and the 10 units of layer 1 are worth one. With ReLU and zeros it is even worse:
# Z[1] = 0, so ReLU'(Z) = 0 and no gradient reaches W[1] or W[2] at all; only b[3] learns, and
# the cost stays at log 2.
#
# The same happens with any *constant* initialization. Below, every weight starts at 0.5: the
# network does learn something, but the rows of W[1] (one row per hidden unit) are still all
# identical after training.

# %%
zeros_net = nets["zeros"]
print("zeros: largest |entry| of each block after training:",
      {k: float(np.abs(v).max()) for k, v in zeros_net.parameters().items()})

const = model(lambda shape, rng: np.full(shape, 0.5))
const.fit(X_train, y_train, epochs=2000, optimizer=tn.SGD(lr=0.01), progress=False)
W1 = const.parameters()["W1"]
print("\nconstant 0.5: W1 after training (one row per hidden unit):")
print(np.round(W1, 4))
print("largest difference between any row of W1 and row 0:", float(np.abs(W1 - W1[0]).max()))
print("same for W2:", float(np.abs(const.parameters()["W2"] - const.parameters()["W2"][0]).max()))

he = nets["He"].parameters()["W1"]
print("\nHe: largest difference between rows of W1:", float(np.abs(he - he[0]).max()))

# %% [markdown]
# ## What you should see
#
# - **zeros**: the cost in the table stays at its starting value (log 2) and the accuracies
#   are 0.5: the network predicts one class everywhere, as in the course. The largest entries
#   printed for W1, W2 and W3 are exactly 0: no weight ever moved.
# - **constant 0.5**: W1's rows printed are identical and the row differences printed are 0:
#   symmetry is never broken, whatever the constant.
# - **large random** (scale=10): a huge initial cost (sigmoid outputs pinned near 0 or 1 on the
#   wrong side; the course's version even prints `inf`), slow progress, and a ragged decision
#   boundary with accuracies well below He's.
# - **He** (and here Xavier and Glorot too, on this small net): the cost falls by orders of
#   magnitude and the two circles are separated, with train and test accuracies close to 1 in the
#   table. He is the course's choice for ReLU layers; the differences between He, Xavier and Glorot
#   grow with depth (see notebook 05 on vanishing and exploding gradients).
