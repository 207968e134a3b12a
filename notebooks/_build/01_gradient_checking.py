# %% [markdown]
# # 01 · Gradient checking
#
# *Following deeplearning.ai Course 2 ("Improving Deep Neural Networks"), week 1: "Numerical
# approximation of gradients", "Gradient checking" and "Gradient checking implementation notes".*
#
# Backpropagation is easy to get almost right. A gradient that is off by a factor of 2 in one
# block still lowers the cost, so training "works", just worse. Gradient checking compares the
# backprop gradient dθ with a numerical estimate of it, and tells you whether (and where) they
# disagree.
#
# The recipe from the course:
#
# 1. reshape all parameters W[1], b[1], …, W[L], b[L] into one long vector θ, and all gradients
#    dW[1], db[1], … into dθ (same order);
# 2. for every index i: dθ_approx[i] = (J(θ + ε·e_i) − J(θ − ε·e_i)) / 2ε;
# 3. difference = ‖dθ_approx − dθ‖₂ / (‖dθ_approx‖₂ + ‖dθ‖₂).
#
# The course's bands for that difference: below 1e-7 great, around 1e-5 look at the components,
# 1e-3 or more is almost surely a bug.

# %%
%matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import tinynet as tn

np.set_printoptions(precision=6, suppress=True)

# %% [markdown]
# ## 1. The derivative, numerically
#
# The derivative is a limit, f'(θ) = lim_{ε→0} (f(θ + ε) − f(θ − ε)) / 2ε. On a computer we
# cannot take the limit, so we pick a small ε. The course's example: f(θ) = θ³ at θ = 1, where
# f'(1) = 3, with ε = 0.01. The course gets 3.0001 for the two-sided difference (error 0.0001),
# and the course gets 3.0301 for the one-sided one (error 0.0301). The same computation here:

# %%
f = lambda t: t ** 3
theta, eps = 1.0, 0.01
one_sided = (f(theta + eps) - f(theta)) / eps
two_sided = (f(theta + eps) - f(theta - eps)) / (2 * eps)
print(f"one-sided estimate: {one_sided:.4f}   error {abs(one_sided - 3):.4f}")
print(f"two-sided estimate: {two_sided:.4f}   error {abs(two_sided - 3):.4f}")

# %% [markdown]
# The one-sided error is O(ε), the two-sided one O(ε²). Shrinking ε does not help forever:
# J(θ ± ε) are rounded to about 16 digits, and dividing their difference by a tiny ε blows that
# round-off up like 1/ε. `tn.plot.eps_sweep` draws both errors against ε:

# %%
fig = tn.plot.eps_sweep()
plt.show()
one_err, two_err = tn.plot.eps_sweep_errors(f, lambda t: 3 * t ** 2, 1.0, [1e-2, 1e-4, 1e-7, 1e-10])
for e, a, b in zip([1e-2, 1e-4, 1e-7, 1e-10], one_err, two_err):
    print(f"eps = {e:.0e}:  one-sided error {a:.1e}   two-sided error {b:.1e}")

# %% [markdown]
# ## 2. One dimension: J(θ) = θ·x
#
# The course starts with a one-parameter "network": forward J(θ) = θx, backward dθ = x. We
# check the backward with the recipe, and then with `tn.gradcheck`, which takes the course's
# kind of functions: `cost(params) -> J` and a dict of gradients.

# %%
def forward_propagation(x, theta):
    return theta * x

def backward_propagation(x, theta):
    return x

x, theta = 2.0, 4.0
eps = 1e-7
grad = backward_propagation(x, theta)
gradapprox = (forward_propagation(x, theta + eps) - forward_propagation(x, theta - eps)) / (2 * eps)
difference = abs(grad - gradapprox) / (abs(grad) + abs(gradapprox))
print(f"grad = {grad}, gradapprox = {gradapprox!r}, difference = {difference:.3e}")

report = tn.gradcheck(lambda p: forward_propagation(x, p["theta"][0]),
                      {"theta": np.array([theta])}, {"dtheta": np.array([grad])})
print(report)

# %% [markdown]
# ## 3. The N-layer check on the course's 4-5-3-1 network
#
# The course's test case: 3 examples with 4 features, LINEAR → RELU → LINEAR → RELU → LINEAR →
# SIGMOID. We draw the same numbers with the same legacy generator (`RandomState(1)`). The course
# stores examples as **columns** (x is (4, 3)); tinynet stores them as **rows**, so X = x.T.
# W[l] has the same shape (n[l], n[l−1]) in both, so the course's parameters load unchanged.

# %%
rs = np.random.RandomState(1)
x = rs.randn(4, 3)
y = np.array([1, 1, 0])
W1 = rs.randn(5, 4); b1 = rs.randn(5, 1)
W2 = rs.randn(3, 5); b2 = rs.randn(3, 1)
W3 = rs.randn(1, 3); b3 = rs.randn(1, 1)
course_parameters = {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "W3": W3, "b3": b3}
X = x.T   # (3 examples, 4 features)

net = tn.Network([tn.Dense(4, 5), tn.ReLU(), tn.Dense(5, 3), tn.ReLU(), tn.Dense(3, 1)],
                 loss=tn.SigmoidCrossEntropy())
net.set_parameters(course_parameters)      # b given as (n, 1) is accepted
print(net.summary())
print("J =", net.cost(X, y))

# %%
report = net.check_gradients(X, y)
print(report)

# %% [markdown]
# ### Planting the course's two bugs
#
# The course's `backward_propagation_n` hides two mistakes: dW2 is multiplied by 2 and db1 by 4.
# We plant the same bugs in tinynet by subclassing `tn.Dense` and scaling the gradients that
# `super().backward` assigned.

# %%
class BuggyDense(tn.Dense):
    """A Dense layer whose backward scales some gradients: factors = {"W": 2} doubles dW."""
    def __init__(self, n_in, n_out, factors):
        super().__init__(n_in, n_out)
        self.factors = factors

    def backward(self, dout):
        dx = super().backward(dout)
        for key, factor in self.factors.items():
            self.grads[key][...] *= factor
        return dx

buggy = tn.Network([BuggyDense(4, 5, {"b": 4}), tn.ReLU(),     # db1 × 4
                    BuggyDense(5, 3, {"W": 2}), tn.ReLU(),     # dW2 × 2
                    tn.Dense(3, 1)], loss=tn.SigmoidCrossEntropy())
buggy.set_parameters(course_parameters)
report = buggy.check_gradients(X, y)
print(report)
print("\noverall difference:", report.difference)
print("failing blocks:", report.failed)

# %%
fig = report.plot()
plt.show()

# %% [markdown]
# The overall difference printed above agrees with the course's to 7 digits (the course prints
# 0.2850931567761623, computed with the course's ε = 1e-7; the last digits depend on ε). The course
# can only say "there is a mistake in the backward propagation". The per-block table says
# **where**: b1 and W2 fail, everything else is great, and the "looks like" lines recognize the
# constant factors 4 and 2.

# %% [markdown]
# ## 4. Checking your own course-style functions with `tn.gradcheck`
#
# If you write forward and backward propagation by hand, in the course's column-major style
# (examples are columns, b is (n, 1)), `tn.gradcheck` checks them directly. It accepts the
# course's gradient names (`dW1`, `db1`) and ignores the rest (`dZ1`, `dA1`, …).

# %%
def relu(z):
    return np.maximum(0, z)

def sigmoid(z):
    return 1 / (1 + np.exp(-z))

def forward_propagation_n(X, Y, parameters):
    """X: (n_x, m) examples as columns; Y: (1, m). Returns the cost and a cache for backward."""
    m = X.shape[1]
    W1, b1, W2, b2, W3, b3 = (parameters[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    Z1 = W1 @ X + b1;  A1 = relu(Z1)
    Z2 = W2 @ A1 + b2; A2 = relu(Z2)
    Z3 = W3 @ A2 + b3; A3 = sigmoid(Z3)
    cost = np.sum(-Y * np.log(A3) - (1 - Y) * np.log(1 - A3)) / m
    return cost, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)

def backward_propagation_n(X, Y, cache, bugs=False):
    m = X.shape[1]
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = cache
    dZ3 = A3 - Y
    dW3 = dZ3 @ A2.T / m
    db3 = dZ3.sum(axis=1, keepdims=True) / m
    dA2 = W3.T @ dZ3
    dZ2 = dA2 * (A2 > 0)
    dW2 = dZ2 @ A1.T / m * (2 if bugs else 1)
    db2 = dZ2.sum(axis=1, keepdims=True) / m
    dA1 = W2.T @ dZ2
    dZ1 = dA1 * (A1 > 0)
    dW1 = dZ1 @ X.T / m
    db1 = dZ1.sum(axis=1, keepdims=True) / m * (4 if bugs else 1)
    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
            "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}

Y = y.reshape(1, -1)
cost, cache = forward_propagation_n(x, Y, course_parameters)
print("J (hand-written) =", cost, "   J (tinynet) =", net.cost(X, y))
for bugs in (False, True):
    gradients = backward_propagation_n(x, Y, cache, bugs=bugs)
    report = tn.gradcheck(lambda p: forward_propagation_n(x, Y, p), course_parameters, gradients)
    print(f"\n--- bugs={bugs}: passed={report.passed}, difference={report.difference!r}")
    print({name: f"{d:.1e}" for name, d in report.blocks.items()})

# %% [markdown]
# `tn.gradcheck` uses the course's ε = 1e-7, so with the bugs its overall difference matches the
# course's number closely (compare the `bugs=True` line above with the course's 0.2850931567761623).
# The per-block differences again point at W2 and b1. Without the bugs the difference printed
# is near the 1e-7 line rather than far below it: with ε = 1e-7, round-off in J(θ ± ε) is
# already visible, which is why tinynet's own checker defaults to ε = 1e-6.

# %% [markdown]
# ## 5. Why float64
#
# float32 has about 7 significant digits (unit round-off ≈ 6e-8). With ε = 1e-7, θ + ε is often
# *the same float32 number* as θ, and J(θ + ε) − J(θ − ε) is mostly round-off. tinynet trains in
# float32 when you ask (`dtype=np.float32`), but its checker always works on a float64 copy of the
# model. Below, the same network in float32: first tinynet's check, then a naive float32 finite
# difference done by hand on the float32 parameters.

# %%
net32 = tn.Network([tn.Dense(4, 5), tn.ReLU(), tn.Dense(5, 3), tn.ReLU(), tn.Dense(3, 1)],
                   loss=tn.SigmoidCrossEntropy(), dtype=np.float32)
net32.set_parameters(course_parameters)
report32 = net32.check_gradients(X, y)
print(f"tinynet's check of the float32 model: passed={report32.passed}, "
      f"difference={report32.difference:.2e}")
print("notes:", report32.notes)

def naive_float32_difference(net, eps):
    _, g = net.cost_and_grad(X, y)
    g = g.astype(np.float64)
    theta = net.params                      # the live float32 parameters
    approx = np.empty(theta.size)
    for i in range(theta.size):
        saved = theta[i]
        theta[i] = saved + np.float32(eps); J_plus = net.cost(X, y)
        theta[i] = saved - np.float32(eps); J_minus = net.cost(X, y)
        theta[i] = saved
        approx[i] = (J_plus - J_minus) / (2 * eps)
    return np.linalg.norm(approx - g) / (np.linalg.norm(approx) + np.linalg.norm(g))

for eps in (1e-7, 1e-4, 1e-2):
    print(f"naive float32 check, eps = {eps:.0e}: difference {naive_float32_difference(net32, eps):.2e}")

# %% [markdown]
# ## 6. Kinks: when the check is wrong and backprop is right
#
# ReLU is not differentiable at 0. If a ±ε step moves a unit's pre-activation Z across 0, the
# finite difference measures a mix of the two slopes and disagrees with a correct backprop. We
# build a tiny network and place the first example exactly on a kink of the first hidden unit:
# with x = (0, 0) and b1[0] = 0, that unit's Z is exactly 0.

# %%
kink_net = tn.Network([tn.Dense(2, 3), tn.ReLU(), tn.Dense(3, 1)],
                      loss=tn.SigmoidCrossEntropy(), seed=0)
Xk = np.array([[0.0, 0.0], [0.5, -1.0], [1.0, 0.3], [-0.4, 0.8]])
yk = np.array([1, 0, 1, 0])
params = kink_net.parameters()
params["b1"][:] = [0.0, 0.2, 0.2]
params["W2"][:] = [[1.0, -0.5, 0.7]]   # so the first hidden unit matters for J
print("Z1 of the first example:", Xk[:1] @ params["W1"].T + params["b1"])
print(kink_net.check_gradients(Xk, yk))

# %% [markdown]
# tinynet's checker sees the kink in J itself: the step bends J, so the two one-sided slopes
# differ, and backprop's value lies between them. The b1 row shows that entry in the "kinks"
# column; it is left out of the verdict instead of being called a bug. The course's recipe
# applied to `net.cost` entry by entry, without that knowledge, disagrees on b1[0]:

# %%
_, grads = kink_net.cost_and_grad(Xk, yk)
b1 = next(b for b in kink_net.blocks if b.name == "b1")
theta, eps = kink_net.params, 1e-7
naive_b1 = np.empty(3)
for i in range(b1.start, b1.stop):
    saved = theta[i]
    theta[i] = saved + eps
    J_plus = kink_net.cost(Xk, yk)
    theta[i] = saved - eps
    J_minus = kink_net.cost(Xk, yk)
    theta[i] = saved
    naive_b1[i - b1.start] = (J_plus - J_minus) / (2 * eps)
print("db1 by backprop:      ", grads[b1.start:b1.stop])
print("db1, naive two-sided: ", naive_b1)

# %% [markdown]
# ## 7. The L2 penalty is part of J
#
# The implementation notes: "remember regularization". With `penalty=tn.L2(lambd)` the checked
# J includes λ/(2m)·Σ‖W[l]‖² and dθ includes λ/m·W[l]. When the penalty dominates a block's
# gradient, a bug in the data part could hide under it, so the report shows each block's L2
# share, and `penalty=False` checks the data loss alone.

# %%
l2_net = tn.Network([tn.Dense(4, 5), tn.ReLU(), tn.Dense(5, 3), tn.ReLU(), tn.Dense(3, 1)],
                    loss=tn.SigmoidCrossEntropy(), penalty=tn.L2(lambd=5.0))
l2_net.set_parameters(course_parameters)
print(l2_net.check_gradients(X, y))
print()
print(l2_net.check_gradients(X, y, penalty=False))

# %% [markdown]
# ## 8. Dropout: off, or frozen
#
# The course: "gradient checking doesn't work with dropout", so turn it off (keep_prob = 1.0),
# check, then turn it on. That is tinynet's default, `dropout="off"`. But then dropout's own
# backward is never checked. With `dropout="frozen"` the checker draws one mask and keeps it
# fixed for every J(θ ± ε), so J is a deterministic function again and dropout's backward is
# checked too. Here is a dropout layer whose backward forgot the 1/keep_prob scale:

# %%
class ForgetfulDropout(tn.Dropout):
    def backward(self, dout):
        if self.mask is None:
            return dout
        return dout * (self.mask > 0)     # bug: should be dout * mask (mask holds 1/keep_prob)

rng = np.random.default_rng(0)
Xd = rng.normal(size=(8, 4))
yd = rng.integers(0, 2, size=8)
drop_net = tn.Network([tn.Dense(4, 5), tn.ReLU(), ForgetfulDropout(keep_prob=0.8),
                       tn.Dense(5, 1)], loss=tn.SigmoidCrossEntropy(), seed=0)
off = drop_net.check_gradients(Xd, yd, dropout="off")
frozen = drop_net.check_gradients(Xd, yd, dropout="frozen")
print(f'dropout="off":    passed={off.passed}, difference={off.difference:.2e}')
print(f'dropout="frozen": passed={frozen.passed}, difference={frozen.difference:.2e}')
print()
print(frozen)

# %% [markdown]
# ## 9. At initialization and after some training
#
# The last implementation note: run the check at random initialization, and again after some
# training, because some bugs only show when W and b have moved away from their initial values.
# The `tn.GradientCheck` callback does both during `fit` (and raises if a check fails).

# %%
Xm, ym = tn.datasets.load("moons")
moons_net = tn.Network([tn.Dense(2, 8), tn.ReLU(), tn.Dense(8, 1)],
                       loss=tn.SigmoidCrossEntropy(), seed=0)
checker = tn.GradientCheck(Xm[:50], ym[:50], every=100, at_start=True)
history = moons_net.fit(Xm, ym, epochs=300, optimizer=tn.Adam(lr=0.01), callbacks=[checker],
                        progress=False)
for epochs_done, report in checker.reports:
    print(f"after {epochs_done:3d} epochs: passed={report.passed}, difference={report.difference:.2e}, "
          f"kinks={sum(r.kinks for r in report.results.values())}")
print(f"training accuracy after {history.epochs} epochs: {history['accuracy'][-1]:.3f}")

# %% [markdown]
# ## 10. A bigger network: `mode="screen"`
#
# Checking every entry costs two forward passes per parameter. For a big network tinynet offers
# `mode="screen"`: a few random directions u per block, comparing (J(θ + εu) − J(θ − εu)) / 2ε
# with u·dθ, and a full entry-by-entry check only of blocks that fail. (`mode="auto"`, the
# default, switches to screening above 50,000 parameters.)

# %%
big = tn.Network([tn.Dense(2, 256), tn.ReLU(), tn.Dense(256, 256), tn.ReLU(),
                  tn.Dense(256, 1)], loss=tn.SigmoidCrossEntropy(), seed=0)
print(f"{big.n_params} parameters")
print(big.check_gradients(Xm, ym, mode="screen"))

# %% [markdown]
# ## What you should see
#
# - Section 1: the two-sided estimate is much closer to 3 than the one-sided one, as in the
#   course's 3.0001 vs 3.0301; in the ε sweep, the two-sided error falls twice as fast (slope 2)
#   until round-off takes over for very small ε.
# - Section 2: the 1-D check prints a difference far below the course's 1e-7 "great" band.
# - Section 3: the correct 4-5-3-1 network passes with every block "great"; with the two bugs
#   planted, the report fails exactly b1 and W2, with the factors 4 and 2, and the overall
#   difference printed matches the course's 0.2850931567761623 to 7 digits.
# - Section 4: the hand-written functions pass without bugs and fail with them; tinynet's J
#   and the hand-written J printed agree to about 14 digits (the last ones are rounding).
# - Section 5: tinynet's check of the float32 model still passes (it works on a float64 copy),
#   while the naive float32 differences printed are far above 1e-7 for every ε.
# - Section 6: the kink is reported in b1's "kinks" column and the check passes; the naive
#   two-sided estimate of db1[0] differs from backprop's.
# - Section 7: the L2 share column is filled in with the penalty on and empty with
#   `penalty=False`; both pass.
# - Section 8: the forgotten 1/keep_prob passes with `dropout="off"` and is caught with
#   `dropout="frozen"`.
# - Sections 9 and 10: every check during training passes, and the screened big network passes.
