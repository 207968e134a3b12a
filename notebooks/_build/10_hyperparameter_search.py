# Source of notebooks/10_hyperparameter_search.ipynb, in the percent format of build.py:
#     python notebooks/_build/build.py 10

# %% [markdown]
# # 10 · Hyperparameter search, and softmax for more than two classes
#
# *Following deeplearning.ai Course 2, week 3: "Tuning process", "Using an appropriate scale to
# pick hyperparameters", "Hyperparameters tuning in practice", "Softmax regression" and
# "Training a softmax classifier".*
#
# A network has settings that training does not learn: the learning rate α, the L2 strength
# `lambd`, the number of units, the mini-batch size... The course's advice for choosing them:
#
# 1. **sample at random, not on a grid**: a grid of 5 × 5 values tries only 5 values of each
#    hyperparameter, 25 random points try 25 of each. Since a few hyperparameters usually matter
#    far more than the others (and you rarely know which in advance), random search explores the
#    important ones much better for the same budget: the argument and the experiments of
#    Bergstra & Bengio, "Random Search for Hyper-Parameter Optimization", *Journal of Machine
#    Learning Research* 13 (2012), 281-305;
# 2. **on the right scale**: a learning rate between 0.0001 and 1 should be drawn as
#    `α = 10^r` with `r` uniform in [−4, 0], so that every decade gets the same share of trials;
# 3. **coarse to fine**: find the region where the good trials are, then sample more densely there;
# 4. judge every trial on a **validation set**, and only the final choice on the test set.
#
# The task: five interleaved spiral arms, so the output layer has five units and the loss is the
# softmax cross-entropy.

# %%
%matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

# %% [markdown]
# ## 1. Softmax for C classes
#
# With `C` classes the last layer outputs `C` scores `z`, and softmax turns them into
# probabilities, `a_j = e^(z_j) / Σ_k e^(z_k)`; the loss of an example of class `y` is
# `−log a_y` (the cross-entropy with the one-hot label). Its gradient with respect to the scores is
# simply `a − one_hot(y)`, which is why tinynet fuses the two: `tn.SoftmaxCrossEntropy()` takes the
# raw scores and integer labels 0 … C−1, and its backward returns `(a − one_hot(y)) / m`.
# We check that by hand on a small network, then with the gradient checker.

# %%
X, y = tn.datasets.spirals(600, n_classes=5, noise=0.2, seed=0)
X_train, X_rest, y_train, y_rest = tn.datasets.train_test_split(X, y, test_size=0.5, seed=0)
X_val, X_test, y_val, y_test = tn.datasets.train_test_split(X_rest, y_rest, test_size=0.5, seed=1)
print(f"train {X_train.shape}, validation {X_val.shape}, test {X_test.shape}; "
      f"classes {np.unique(y)}")

small = tn.Network([tn.Dense(2, 8), tn.ReLU(), tn.Dense(8, 5)], loss=tn.SoftmaxCrossEntropy(),
                   seed=0)
z = small.forward(X_train)                                 # raw scores (m, 5)
a = np.exp(z - z.max(axis=1, keepdims=True))
a /= a.sum(axis=1, keepdims=True)                          # softmax by hand
one_hot = np.eye(5)[y_train]
J = small.cost(X_train, y_train)
m = len(y_train)
print("rows of predict_proba sum to 1:", np.allclose(small.predict_proba(X_train).sum(axis=1), 1))
print("predict_proba equals softmax by hand:", np.allclose(small.predict_proba(X_train), a))
print(f"J = {J:.6f}; by hand, mean of −log a_y = {-np.mean(np.log(a[np.arange(m), y_train])):.6f}")
softmax_backward_error = np.abs(small.loss.backward() - (a - one_hot) / m).max()
print(f"largest |dz − (a − one_hot(y)) / m| = {softmax_backward_error:.1e}")
softmax_check = small.check_gradients(X_train[:50], y_train[:50])
print(f"gradient check of the softmax network: passed = {softmax_check.passed}, "
      f"difference = {softmax_check.difference:.1e}")

# %% [markdown]
# ## 2. Why random points, and why a log scale
#
# Two pictures, no training yet. Left: 25 trials on a 5 × 5 grid and 25 random trials of
# (learning rate, `lambd`); the ticks on the bottom axis are the learning rates each one actually
# tries. Right: where 1000 learning rates land when drawn uniformly in [0.0001, 1], and when drawn
# as `10^r` with `r` uniform in [−4, 0].

# %%
rng = np.random.default_rng(0)
grid_lr, grid_lambd = np.meshgrid(np.logspace(-4, 0, 5), np.logspace(-3, 1, 5))
random_lr, random_lambd = 10 ** rng.uniform(-4, 0, 25), 10 ** rng.uniform(-3, 1, 25)
print(f"distinct learning rates tried: grid {len(np.unique(grid_lr))}, random {len(np.unique(random_lr))}")

uniform = rng.uniform(1e-4, 1, 1000)
log_uniform = 10 ** rng.uniform(-4, 0, 1000)
decades = [(10.0 ** k, 10.0 ** (k + 1)) for k in range(-4, 0)]
share = {name: [np.mean((lo <= v) & (v < hi)) for lo, hi in decades]
         for name, v in (("uniform", uniform), ("log scale", log_uniform))}
for name, values in share.items():
    print(f"{name:>9}: share per decade " + "  ".join(
        f"[{lo:g}, {hi:g}): {s:.0%}" for (lo, hi), s in zip(decades, values)))

fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
ax = axes[0]
ax.scatter(grid_lr, grid_lambd, marker="s", s=60, label="grid", color="tab:blue")
ax.scatter(random_lr, random_lambd, marker="o", s=30, label="random", color="tab:orange")
ax.plot(grid_lr.ravel(), np.full(25, 4e-4), "|", color="tab:blue", markersize=20)
ax.plot(random_lr, np.full(25, 2e-4), "|", color="tab:orange", markersize=20)
ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="lambd", ylim=(1e-4, 20),
       title="25 trials: grid vs random (ticks: the learning rates tried)")
ax.legend(loc="upper left")
ax = axes[1]
bins = np.logspace(-4, 0, 41)
ax.hist(uniform, bins=bins, alpha=0.6, label="uniform in [0.0001, 1]")
ax.hist(log_uniform, bins=bins, alpha=0.6, label="10^r, r uniform in [−4, 0]")
ax.set(xscale="log", xlabel="learning rate", ylabel="count of 1000 draws",
       title="the same range, two ways to sample it")
ax.legend(loc="upper left")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### What you should see
#
# - The grid tries 5 learning rates, the random trials 25: if the learning rate is what matters
#   (it usually is, far more than `lambd`), random search has tested five times as many
#   relevant values for the same cost.
# - Drawn uniformly, about 90% of the learning rates land in the last decade, [0.1, 1), and the
#   decades below 0.01 get almost nothing; drawn on the log scale, each decade gets about a
#   quarter.
#
# ## 3. Coarse search
#
# Each trial trains the same network, `[2, 64, 64, 5]` with ReLU and the softmax cross-entropy,
# for 60 epochs of Adam with mini-batches of 32, with its own learning rate `10^r`, `r` uniform
# in [−4, 0], and `lambd = 10^s`, `s` uniform in [−3, 1], and is scored by its accuracy on the
# validation set. All trials start from the same initial weights (`seed=0`), so that the
# differences come from the hyperparameters alone.

# %%
def trial(lr, lambd, epochs=60):
    """Train with these hyperparameters; -> (validation accuracy, the network)."""
    net = tn.Network([tn.Dense(2, 64), tn.ReLU(), tn.Dense(64, 64), tn.ReLU(), tn.Dense(64, 5)],
                     loss=tn.SoftmaxCrossEntropy(), penalty=tn.L2(lambd=lambd), seed=0)
    try:
        net.fit(X_train, y_train, epochs=epochs, batch_size=32, optimizer=tn.Adam(lr=lr),
                progress=False)
    except FloatingPointError:            # diverged: as bad as a trial can be
        return 0.0, net
    return net.score(X_val, y_val), net

def search(n, log_lr_range, log_lambd_range, rng):
    """n random trials, both hyperparameters on log scales; -> arrays lr, lambd, accuracy."""
    lr = 10 ** rng.uniform(*log_lr_range, n)
    lambd = 10 ** rng.uniform(*log_lambd_range, n)
    accuracy = np.array([trial(a, b)[0] for a, b in zip(lr, lambd)])
    return lr, lambd, accuracy

rng = np.random.default_rng(1)
coarse = search(30, (-4, 0), (-3, 1), rng)
lr, lambd, accuracy = coarse
order = np.argsort(-accuracy)
print("coarse search, the five best and the five worst of 30 trials:")
for i in list(order[:5]) + list(order[-5:]):
    print(f"  lr = {lr[i]:.1e}   lambd = {lambd[i]:.1e}   validation accuracy {accuracy[i]:.1%}")
print(f"validation accuracy: best {accuracy.max():.1%}, median {np.median(accuracy):.1%}, "
      f"worst {accuracy.min():.1%}")

# %% [markdown]
# The fine search zooms in on the box (on the log scales) spanned by the five best coarse trials,
# widened by a quarter of a decade on each side, and samples 20 more trials in it.

# %%
best5 = order[:5]
fine_lr_range = (np.log10(lr[best5]).min() - 0.25, np.log10(lr[best5]).max() + 0.25)
fine_lambd_range = (np.log10(lambd[best5]).min() - 0.25, np.log10(lambd[best5]).max() + 0.25)
print(f"fine box: lr in [{10 ** fine_lr_range[0]:.1e}, {10 ** fine_lr_range[1]:.1e}], "
      f"lambd in [{10 ** fine_lambd_range[0]:.1e}, {10 ** fine_lambd_range[1]:.1e}]")
fine = search(20, fine_lr_range, fine_lambd_range, rng)
print(f"fine search, validation accuracy: best {fine[2].max():.1%}, median {np.median(fine[2]):.1%}, "
      f"worst {fine[2].min():.1%}")

all_lr, all_lambd, all_accuracy = (np.concatenate(pair) for pair in zip(coarse, fine))
best = int(np.argmax(all_accuracy))
best_lr, best_lambd = all_lr[best], all_lambd[best]
print(f"best of all 50 trials: lr = {best_lr:.2e}, lambd = {best_lambd:.2e}, "
      f"validation accuracy {all_accuracy[best]:.1%}")

fig, axes = plt.subplots(1, 3, figsize=(17, 4.5))
ax = axes[0]
for (lr_, lambd_, acc), marker, name in ((coarse, "o", "coarse"), (fine, "^", "fine")):
    points = ax.scatter(lr_, lambd_, c=acc, cmap="viridis", vmin=0, vmax=1, marker=marker,
                        edgecolors="k", s=50, label=name)
ax.add_patch(plt.Rectangle((10 ** fine_lr_range[0], 10 ** fine_lambd_range[0]),
                           10 ** fine_lr_range[1] - 10 ** fine_lr_range[0],
                           10 ** fine_lambd_range[1] - 10 ** fine_lambd_range[0],
                           fill=False, linestyle="--", color="tab:red"))
ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="lambd",
       title="validation accuracy of every trial (dashed: the fine box)")
ax.legend(loc="upper left")
fig.colorbar(points, ax=ax, label="validation accuracy")
for ax, values, name in ((axes[1], all_lr, "learning rate"), (axes[2], all_lambd, "lambd")):
    ax.scatter(values[:30], coarse[2], label="coarse", marker="o")
    ax.scatter(values[30:], fine[2], label="fine", marker="^")
    ax.set(xscale="log", xlabel=name, ylabel="validation accuracy",
           title=f"validation accuracy against {name} alone")
    ax.legend(loc="lower left")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. The choice, on the test set
#
# The best trial's hyperparameters are trained once more (the same initial weights, so the same
# network) and evaluated, for the first time, on the test set.

# %%
val_accuracy, final = trial(best_lr, best_lambd)
test_accuracy = final.score(X_test, y_test)
print(f"lr = {best_lr:.2e}, lambd = {best_lambd:.2e}: training {final.score(X_train, y_train):.1%}, "
      f"validation {val_accuracy:.1%}, test {test_accuracy:.1%}")
tn.plot.decision_boundary(final, X_train, y_train,
                          title=f"five spiral arms: test accuracy {test_accuracy:.1%}")
plt.show()

# %% [markdown]
# ### What you should see
#
# - Section 1: tinynet's probabilities are the softmax computed by hand (rows summing to 1), its
#   J is the mean of `−log a_y`, its fused backward is `(a − one_hot(y)) / m` to rounding, and the
#   gradient check passes.
# - The coarse search: the hyperparameters make the difference between a useless model (the worst
#   trials are near or below chance, 20% for five classes) and a good one. In the scatter plots,
#   the good trials gather in a band of learning rates (too small: 60 epochs are not enough; too
#   large: Adam's steps overshoot) and below a threshold of `lambd` (too strong a penalty pins the
#   weights near 0 and the model underfits).
# - The fine search samples inside the dashed box, where the good trials are: its median trial is
#   far better than the coarse search's median, although both drew their points at random.
# - The test accuracy of the chosen model is close to its validation accuracy: the test set was
#   not used to choose anything, so it is an honest estimate. (With 150 validation points, one
#   point is 0.7%: trials whose accuracies differ by a point or two are a tie, and another draw of
#   the data or the initial weights could rank them the other way round.)
