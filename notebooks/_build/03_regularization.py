# %% [markdown]
# # 03 · Regularization: L2 and dropout
#
# *Following deeplearning.ai Course 2, week 1: "Regularization", "Why regularization reduces
# overfitting", "Dropout regularization", "Understanding dropout", and the "Regularization"
# programming assignment.*
#
# The French football corporation's question from the course: where on the field should the
# goalkeeper kick the ball so that one of our players heads it? The points are past head-ers;
# blue (1) if our team won the ball, red (0) otherwise. tinynet ships a data set in that spirit:
# two teams on either side of a wavy diagonal, with about 10% of the labels flipped, noise that a
# large network will happily memorize.
#
# Three runs of the course's 3-layer network [2, 20, 3, 1] (LINEAR → RELU → LINEAR → RELU →
# LINEAR → SIGMOID), gradient descent with learning rate 0.3 on the full batch, all three
# **starting from the same initial weights**:
#
# 1. no regularization;
# 2. L2: J = (cross-entropy) + λ/(2m)·Σ_l ‖W[l]‖²_F with the course's lambd = 0.7, so
#    dW[l] gains a term (λ/m)·W[l] ("weight decay");
# 3. inverted dropout after each hidden layer with the course's keep_prob = 0.86: during training
#    each unit is kept with probability keep_prob and the kept ones are divided by keep_prob, so
#    the expected value of A[l] does not change; at test time dropout is off.

# %%
%matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

X_train, y_train = tn.datasets.load("football_train")
X_test, y_test = tn.datasets.load("football_test")
print("X_train", X_train.shape, " X_test", X_test.shape)

fig, ax = plt.subplots(figsize=(4, 4))
ax.scatter(X_train[:, 0], X_train[:, 1], c=y_train, cmap="Spectral", edgecolors="k", s=20)
ax.set_title("football_train"); ax.set_aspect("equal")
plt.show()

# %% [markdown]
# One run is not a result: how far the unregularized network goes in fitting the flipped labels
# depends on its initial weights and on rounding (at learning rate 0.3 it trains on the edge of
# stability: see the spikes in its cost curve below), so the same comparison run on another
# computer can come out differently. We therefore repeat it from three different initial
# weights (seeds 1, 2, 3) and compare the means. To keep the notebook quick, each run takes
# 15000 iterations, half of the course's 30000.

# %%
def model(penalty=None, keep_prob=None, seed=1):
    hidden1 = [tn.Dense(2, 20), tn.ReLU()]
    hidden2 = [tn.Dense(20, 3), tn.ReLU()]
    if keep_prob is not None:
        hidden1.append(tn.Dropout(keep_prob=keep_prob))
        hidden2.append(tn.Dropout(keep_prob=keep_prob))
    return tn.Network(hidden1 + hidden2 + [tn.Dense(3, 1)], loss=tn.SigmoidCrossEntropy(),
                      penalty=penalty, seed=seed)

variants = {"no regularization": {},
            "L2, lambd = 0.7": {"penalty": tn.L2(lambd=0.7)},
            "dropout, keep_prob = 0.86": {"keep_prob": 0.86}}
seeds = (1, 2, 3)
scores = {name: [] for name in variants}   # (train, test) accuracy per seed
runs, histories = {}, {}                   # the networks of the first seed, for the figures
for seed in seeds:
    # One set of He-initialized starting weights per seed, shared by the three runs: the only
    # difference between them is the regularization. (Dropout layers have no parameters, so
    # the names match.)
    theta0 = {name: value.copy() for name, value in model(seed=seed).parameters().items()}
    for name, options in variants.items():
        net = model(seed=seed, **options)
        net.set_parameters(theta0)
        history = net.fit(X_train, y_train, epochs=15000, optimizer=tn.SGD(lr=0.3), progress=False)
        scores[name].append((net.score(X_train, y_train), net.score(X_test, y_test)))
        if seed == seeds[0]:
            runs[name], histories[name] = net, history

mean = {name: np.mean(values, axis=0) for name, values in scores.items()}   # (train, test)
print(f"{'model':<27} {'train accuracy per seed':>24} {'test accuracy per seed':>23}   "
      f"{'mean train':>10} {'mean test':>9} {'mean gap':>8}")
for name, values in scores.items():
    train, test = zip(*values)
    print(f"{name:<27} {' '.join(f'{a:.3f}' for a in train):>24} "
          f"{' '.join(f'{a:.3f}' for a in test):>23}   {mean[name][0]:>10.4f} {mean[name][1]:>9.4f} "
          f"{mean[name][0] - mean[name][1]:>8.4f}")

# %% [markdown]
# For reference, the course's table on its own data set:
#
# | model (the course's results) | train accuracy | test accuracy |
# |---|---|---|
# | the course: 3-layer NN without regularization | 95% | 91.5% |
# | the course: 3-layer NN with L2-regularization | 94% | 93% |
# | the course: 3-layer NN with dropout | 93% | 95% |
#
# Results on another data set differ in detail; the pattern to look for is in "What you should
# see" below.

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
for ax, (name, net) in zip(axes, runs.items()):
    tn.plot.decision_boundary(net, X_train, y_train, ax=ax, title=f"{name} (seed {seeds[0]})")
plt.tight_layout()
plt.show()

fig, ax = plt.subplots(figsize=(7, 4))
window = 500
for (name, history), color in zip(histories.items(), ("tab:blue", "tab:orange", "tab:green")):
    loss = np.asarray(history["loss"])
    if name.startswith("dropout"):
        # the cost of a different thinned network at every iteration: drawn faintly, under the
        # other curves, with its running mean over `window` iterations on top
        ax.plot(loss, color=color, alpha=0.25, linewidth=0.5, zorder=1)
        running = np.convolve(loss, np.ones(window) / window, mode="valid")
        ax.plot(np.arange(window - 1, len(loss)), running, color=color, zorder=2,
                label=f"{name} (running mean)")
    else:
        ax.plot(loss, color=color, zorder=3, label=name)
ax.set_yscale("log"); ax.set_xlabel("iteration"); ax.set_ylabel("training cost J (with its penalty)")
ax.set_title(f"cost during training (seed {seeds[0]})"); ax.legend()
plt.show()

# %% [markdown]
# A note on the curves: the L2 curve includes the penalty λ/(2m)·Σ‖W‖², so it cannot go as low
# as the others; the dropout curve is the cost of a different thinned network at every iteration,
# so it is noisy (the course's remark that J is no longer well defined with dropout): it is drawn
# faintly, below the other two, with its running mean over 500 iterations on top.
#
# L2 makes the weights smaller: compare the squared Frobenius norms of the trained weights.

# %%
for name, net in runs.items():
    p = net.parameters()
    print(f"{name:<27} Σ‖W[l]‖² = {sum(float((p[k] ** 2).sum()) for k in ('W1', 'W2', 'W3')):8.2f}")

# %% [markdown]
# ## Gradient checks with regularization on
#
# The course's implementation notes: include the regularization term in J when checking, and
# turn dropout off for the check (keep_prob = 1). tinynet does both by default; with
# `dropout="frozen"` it checks dropout's backward too, with one fixed mask. We check the trained
# networks on 60 training points.

# %%
Xc, yc = X_train[:60], y_train[:60]
l2_report = runs["L2, lambd = 0.7"].check_gradients(Xc, yc)
print(l2_report)

# %% [markdown]
# The "L2 share" column says how much of each weight block's gradient is the penalty's λ/m·W
# term: here from about a third (W1, W2) to two thirds (W3); the biases are not penalized. Where
# the share passes 90 % the report adds a note, because a bug in the data part of the gradient
# could then hide behind the penalty. None of these blocks gets there, but the course-notes
# advice holds anyway: check the data loss alone as well, which `penalty=False` does:

# %%
print(runs["L2, lambd = 0.7"].check_gradients(Xc, yc, penalty=False))

# %%
dropout_net = runs["dropout, keep_prob = 0.86"]
reports = {}
for mode in ("off", "frozen"):
    reports[mode] = dropout_net.check_gradients(Xc, yc, dropout=mode)
    print(f'dropout="{mode}"')
    print(reports[mode], end="\n\n")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
l2_report.plot(ax=axes[0])
axes[0].set_title("L2 network")
reports["frozen"].plot(ax=axes[1])
axes[1].set_title('dropout network, dropout="frozen"')
plt.tight_layout()
plt.show()

# %% [markdown]
# ## What you should see
#
# - The table: the single runs differ from seed to seed, most of all the unregularized one. In
#   the means, L2 and dropout have a higher test accuracy than the unregularized network (by
#   a point or two), and L2 the smallest gap between training and test accuracy. The
#   training accuracies of the three are close: this small network with a 3-unit layer cannot
#   memorize much of the noise, so the course's large gap does not appear on this data, but the
#   direction of the effect is the course's.
# - The decision boundaries (first seed): compare how closely each one follows individual points
#   of the other class.
# - Σ‖W[l]‖²: clearly the smallest for the L2 network ("weight decay").
# - The gradient checks all pass. With L2 on, the "L2 share" column shows how much of each
#   weight block's gradient is the penalty's λ/m·W term, and the check with `penalty=False`
#   passes too. A few entries in the first layer may be listed under "kinks": their ±ε step
#   moved a ReLU input across 0, so they are left out rather than reported as bugs (notebook 01,
#   section 6). The dropout network passes with dropout
#   off *and* with a frozen mask, so tinynet's dropout backward (the mask with its 1/keep_prob) is
#   verified as well (notebook 01, section 8, shows the frozen check catching a dropout bug).
