# %% [markdown]
# # 04 · Normalizing inputs
#
# *Following deeplearning.ai Course 2, week 1: "Normalizing inputs".*
#
# The course's recipe, for each feature of the **training set**:
#
# - subtract the mean: μ = (1/m) Σ_i x⁽ⁱ⁾, x := x − μ;
# - normalize the spread: divide by the standard deviation σ (the lecture writes the variance
#   σ² = (1/m) Σ_i (x⁽ⁱ⁾)²; dividing by σ is what makes each feature's variance 1);
# - and use **the same μ and σ** to normalize the test set: the test set must go through exactly
#   the transformation the network was trained on.
#
# Why: when features live on very different scales, the cost J(W, b) is an elongated bowl in
# parameter space, and gradient descent needs a tiny learning rate and many steps to crawl along
# the long axis. Normalized features give a rounder bowl, a larger usable learning rate and
# faster convergence.

# %%
%matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

# %% [markdown]
# ## The data: moons with one feature in other units
#
# We take tinynet's moons and pretend the second feature was measured in other units: multiplied
# by 100 and shifted by 500 (think centimeters above a reference, instead of meters).

# %%
X, y = tn.datasets.load("moons")
X_train, X_test, y_train, y_test = tn.datasets.train_test_split(X, y, test_size=0.25, seed=0)
units = np.array([1.0, 100.0]), np.array([0.0, 500.0])
raw_train = X_train * units[0] + units[1]
raw_test = X_test * units[0] + units[1]
print("raw training set: mean", raw_train.mean(axis=0).round(3), " std", raw_train.std(axis=0).round(3))

# %% [markdown]
# `tn.datasets.Standardizer` is fitted on the training set only; its μ and σ are then applied
# unchanged to the test set. The test set's own mean is therefore *not* exactly 0 after the
# transform, and that is correct.

# %%
scaler = tn.datasets.Standardizer().fit(raw_train)
print("μ (from the training set):", scaler.mean_.round(4))
print("σ (from the training set):", scaler.std_.round(4))
std_train = scaler.transform(raw_train)
std_test = scaler.transform(raw_test)
print("standardized training set: mean", std_train.mean(axis=0).round(4), " std", std_train.std(axis=0).round(4))
print("standardized test set:     mean", std_test.mean(axis=0).round(4), " std", std_test.std(axis=0).round(4))

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, (A, title) in zip(axes, [(raw_train, "raw features"), (std_train, "standardized")]):
    ax.scatter(A[:, 0], A[:, 1], c=y_train, cmap="Spectral", edgecolors="k", s=15)
    ax.set_title(title); ax.set_xlabel("$x_1$"); ax.set_ylabel("$x_2$")
axes[0].set_aspect("equal", adjustable="datalim")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The same network on both versions
#
# The [2, 10, 5, 1] ReLU network of notebook 02 (He initialization, the same seed, so the same
# initial weights), full-batch gradient descent for 2000 iterations. A fair comparison needs each
# version's best learning rate, so we try a grid of learning rates on each and keep the one with
# the lowest final cost (a learning rate at which training diverges is reported as such).

# %%
def model():
    return tn.Network([tn.Dense(2, 10), tn.ReLU(), tn.Dense(10, 5), tn.ReLU(), tn.Dense(5, 1)],
                      loss=tn.SigmoidCrossEntropy(), seed=0)

learning_rates = [1.0, 0.1, 0.01, 1e-3, 1e-4, 1e-5]
versions = {"raw": (raw_train, raw_test), "standardized": (std_train, std_test)}
best = {}
print(f"{'features':<13} {'lr':>7} {'final cost':>10}")
for name, (A, _) in versions.items():
    for lr in learning_rates:
        net = model()
        try:
            history = net.fit(A, y_train, epochs=2000, optimizer=tn.SGD(lr=lr), progress=False)
        except FloatingPointError:
            print(f"{name:<13} {lr:>7g}   diverged")
            continue
        final = history["loss"][-1]
        print(f"{name:<13} {lr:>7g} {final:>10.4f}")
        if name not in best or final < best[name][2]["loss"][-1]:
            best[name] = (lr, net, history)

print()
for name, (lr, net, history) in best.items():
    A, B = versions[name]
    print(f"{name:<13} best lr {lr:g}: final cost {history['loss'][-1]:.4f}, "
          f"train accuracy {net.score(A, y_train):.4f}, test accuracy {net.score(B, y_test):.4f}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
for name, (lr, net, history) in best.items():
    axes[0].plot(history["loss"], label=f"{name} (lr {lr:g})")
axes[0].set_yscale("log"); axes[0].set_xlabel("iteration"); axes[0].set_ylabel("cost J")
axes[0].set_title("cost, each at its best learning rate"); axes[0].legend()
for ax, (name, (lr, net, history)) in zip(axes[1:], best.items()):
    A, _ = versions[name]
    tn.plot.decision_boundary(net, A, y_train, ax=ax, title=f"{name} features")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The shape of the bowl
#
# To *see* the bowl we need a model with only two weights: a logistic regression, Dense(2 → 1)
# with a sigmoid cross-entropy, whose W[1] = (w₁, w₂). We evaluate J on a grid of (w₁, w₂)
# by writing into the live parameter view `net.parameters()["W1"]` and calling `net.cost`
# (b[1] stays 0). To isolate the effect of the *scale*, the raw version here is only centered:
# x₂ still has 100 times the spread of x₁.

# %%
def cost_surface(A, w1_values, w2_values):
    lr_net = tn.Network([tn.Dense(2, 1)], loss=tn.SigmoidCrossEntropy(), seed=0)
    W = lr_net.parameters()["W1"]          # a view into lr_net.params: writing it changes the model
    J = np.empty((len(w2_values), len(w1_values)))
    for i, w2 in enumerate(w2_values):
        for j, w1 in enumerate(w1_values):
            W[0] = (w1, w2)
            J[i, j] = lr_net.cost(A, y_train)
    return J

centered_train = raw_train - scaler.mean_       # zero mean, but the scales still differ
print("centered raw std:", centered_train.std(axis=0).round(4), "  standardized std:", std_train.std(axis=0).round(4))
w1 = np.linspace(-4, 6, 61)       # the same square window for both, around the standardized minimum
w2 = np.linspace(-8, 2, 61)
surfaces = {"centered, unscaled": cost_surface(centered_train, w1, w2),
            "standardized": cost_surface(std_train, w1, w2)}

fig, axes = plt.subplots(1, 2, figsize=(11, 5))
for ax, (name, J) in zip(axes, surfaces.items()):
    levels = np.geomspace(J.min(), J.max(), 15)
    ax.contour(w1, w2, J, levels=levels, cmap="viridis")
    i, j = np.unravel_index(J.argmin(), J.shape)
    ax.plot(w1[j], w2[i], "r*", markersize=12)
    ax.set_aspect("equal"); ax.set_xlabel("$w_1$"); ax.set_ylabel("$w_2$")
    ax.set_title(f"J(w₁, w₂): {name}")
plt.tight_layout()
plt.show()
rises = {}
for name, J in surfaces.items():
    i, j = np.unravel_index(J.argmin(), J.shape)
    # how fast J rises from the grid minimum, one grid step along w1 and along w2
    rise_w1 = J[i, j + 1] - J[i, j]
    rise_w2 = J[i + 1, j] - J[i, j]
    rises[name] = (rise_w1, rise_w2)
    print(f"{name:<20} minimum of the grid at w = ({w1[j]:.2f}, {w2[i]:.2f}); one grid step from it "
          f"raises J by {rise_w1:.2e} along w1 and {rise_w2:.2e} along w2")

# %% [markdown]
# ## What you should see
#
# - The Standardizer printout: μ and σ come from the training set; the standardized training set
#   has mean 0 and std 1, while the test set's mean printed is close to, but not exactly, 0,
#   because it went through the *training* set's μ and σ, as the course prescribes.
# - The learning-rate table: on raw features, no learning rate in the grid gets the cost much
#   below log 2 (the large ones stall, the small ones crawl), and the best raw run's accuracies
#   are far below the standardized run's. On standardized features, the largest learning rates work and the
#   cost falls by orders of magnitude in the same 2000 iterations, with train and test accuracies
#   near 1.
# - The contour plots (same window, red star at the grid's minimum): with unscaled features J is
#   a long, narrow valley (its level curves are nearly horizontal lines: J is far more sensitive
#   to w₂, whose feature is 100 times larger); with standardized features the level curves are
#   closed, rounder curves around the minimum. The two printed rises say the same
#   in numbers: the steep direction is orders of magnitude steeper than the flat one for the
#   unscaled features, and of similar size for the standardized ones.
