"""Optimizers: each update rule against the course formula computed by hand."""

import math

import numpy as np
import pytest

from tinynet.optim import (
    SGD, Adam, InverseTimeDecay, Momentum, Optimizer, RMSProp, ScheduledInverseTimeDecay,
    StepDecay,
)

G1 = [0.5, -2.0, 0.0]   # first gradient
G2 = [-1.0, 4.0, 3.0]   # second gradient
P0 = [1.0, 2.0, -3.0]   # starting parameters


def two_steps(opt, dtype=np.float64):
    params = np.array(P0, dtype=dtype)
    opt.step(params, np.array(G1, dtype=dtype))
    opt.step(params, np.array(G2, dtype=dtype))
    return params


def test_sgd_subtracts_lr_times_gradient():
    params = two_steps(SGD(lr=0.1))
    expected = [p - 0.1 * g1 - 0.1 * g2 for p, g1, g2 in zip(P0, G1, G2)]
    np.testing.assert_allclose(params, expected, rtol=1e-15)


def test_momentum_two_steps_by_hand():
    lr, beta = 0.1, 0.9
    expected = []
    for p, g1, g2 in zip(P0, G1, G2):
        v = (1 - beta) * g1
        p -= lr * v
        v = beta * v + (1 - beta) * g2
        p -= lr * v
        expected.append(p)
    np.testing.assert_allclose(two_steps(Momentum(lr=lr, beta=beta)), expected, rtol=1e-14)


def test_momentum_with_beta_zero_is_sgd():
    np.testing.assert_array_equal(two_steps(Momentum(lr=0.1, beta=0.0)), two_steps(SGD(lr=0.1)))


def test_rmsprop_two_steps_by_hand():
    lr, beta, eps = 0.01, 0.9, 1e-8
    expected = []
    for p, g1, g2 in zip(P0, G1, G2):
        s = (1 - beta) * g1 ** 2
        p -= lr * g1 / (math.sqrt(s) + eps)
        s = beta * s + (1 - beta) * g2 ** 2
        p -= lr * g2 / (math.sqrt(s) + eps)
        expected.append(p)
    np.testing.assert_allclose(two_steps(RMSProp(lr=lr, beta=beta, eps=eps)), expected,
                               rtol=1e-14)


def test_adam_two_steps_by_hand_with_bias_correction():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    expected = []
    for p, g1, g2 in zip(P0, G1, G2):
        v, s = 0.0, 0.0
        for t, g in ((1, g1), (2, g2)):
            v = b1 * v + (1 - b1) * g
            s = b2 * s + (1 - b2) * g * g
            v_hat = v / (1 - b1 ** t)
            s_hat = s / (1 - b2 ** t)
            p -= lr * v_hat / (math.sqrt(s_hat) + eps)
        expected.append(p)
    opt = Adam(lr=lr, beta1=b1, beta2=b2, eps=eps)
    np.testing.assert_allclose(two_steps(opt), expected, rtol=1e-13)
    assert opt.t == 2


def test_adam_first_step_is_about_lr_times_sign_of_gradient():
    params = np.zeros(4)
    grads = np.array([1e-3, -50.0, 7.0, -0.2])
    Adam(lr=0.01).step(params, grads)
    np.testing.assert_allclose(params, -0.01 * np.sign(grads), rtol=1e-4)


def test_step_counter_and_lazy_state():
    opt = Adam()
    assert opt.t == 0 and opt._state == {}
    params = np.zeros(3)
    opt.step(params, np.ones(3))
    assert opt.t == 1
    assert opt._state["v"].shape == (3,) and opt._state["v"].dtype == np.float64


def test_reset_forgets_state_step_count_and_schedule():
    opt = Adam(lr=0.1, decay=InverseTimeDecay(1.0))
    first = two_steps(opt)
    opt.set_epoch(3)
    opt.reset()
    assert (opt.t, opt.lr, opt._state) == (0, 0.1, {})
    np.testing.assert_array_equal(two_steps(opt), first)


def test_state_made_for_other_params_is_refused_until_reset():
    opt = Momentum()
    opt.step(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="reset"):
        opt.step(np.zeros(5), np.ones(5))
    opt.reset()
    opt.step(np.zeros(5), np.ones(5))


@pytest.mark.parametrize("make", [
    lambda: SGD(lr=0.1), lambda: Momentum(lr=0.1), lambda: RMSProp(lr=0.01),
    lambda: Adam(lr=0.05), lambda: Adam(lr=0.05, decay=StepDecay(0.5, every=200)),
])
def test_every_optimizer_minimizes_a_quadratic(make):
    # J(θ) = ½ Σ a_i (θ_i − c_i)²,  dJ/dθ = a (θ − c); minimum at θ = c
    a = np.array([1.0, 3.0, 0.5, 2.0])
    c = np.array([1.0, -2.0, 0.5, 3.0])
    params = np.zeros(4)
    grads = np.empty(4)
    opt = make()
    for epoch in range(1000):
        opt.set_epoch(epoch)
        np.multiply(a, params - c, out=grads)
        opt.step(params, grads)
    np.testing.assert_allclose(params, c, atol=1e-2)


@pytest.mark.parametrize("cls", [SGD, Momentum, RMSProp, Adam])
def test_float32_params_stay_float32_and_update_in_place(cls):
    params = np.array(P0, dtype=np.float32)
    storage = params
    opt = cls()
    opt.step(params, np.array(G1, dtype=np.float32))
    assert params is storage and params.dtype == np.float32
    assert all(buf.dtype == np.float32 for buf in opt._state.values())
    np.testing.assert_allclose(two_steps(cls(), np.float32), two_steps(cls()), rtol=1e-5)


@pytest.mark.parametrize("cls", [SGD, Momentum, RMSProp, Adam])
def test_rejected_step_leaves_params_and_state_unchanged(cls):
    opt = cls()
    params = np.array(P0)
    opt.step(params, np.array(G1))
    before, state_before = params.copy(), {k: v.copy() for k, v in opt._state.items()}
    with pytest.raises(ValueError, match=r"grads must have the shape of params \(3,\)"):
        opt.step(params, np.ones(4))
    np.testing.assert_array_equal(params, before)
    assert opt.t == 1
    for k, v in opt._state.items():
        np.testing.assert_array_equal(v, state_before[k])


def test_step_rejects_non_float_params():
    with pytest.raises(TypeError, match="params must be a float numpy array"):
        SGD().step([1.0, 2.0], np.ones(2))
    with pytest.raises(TypeError, match="params must be a float numpy array"):
        SGD().step(np.arange(3), np.ones(3))


def test_inverse_time_decay_gives_the_course_numbers():
    schedule = InverseTimeDecay(decay_rate=1)
    assert schedule(0.5, 0) == 0.5
    assert schedule(0.5, 2) == pytest.approx(0.5 / 3)
    opt = SGD(lr=0.5, decay=schedule)
    opt.set_epoch(2)
    assert opt.lr == pytest.approx(0.5 / 3) and opt.lr0 == 0.5


def test_scheduled_inverse_time_decay_is_constant_within_an_interval():
    schedule = ScheduledInverseTimeDecay(decay_rate=1, interval=1000)
    assert {schedule(0.5, e) for e in (0, 1, 500, 999)} == {0.5}
    assert schedule(0.5, 1000) == pytest.approx(0.25)
    assert schedule(0.5, 2999) == pytest.approx(0.5 / 3)


def test_step_decay_halves_every_interval():
    schedule = StepDecay(factor=0.5, every=10)
    assert [schedule(1.0, e) for e in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]


def test_set_epoch_without_decay_keeps_lr():
    opt = SGD(lr=0.3)
    opt.set_epoch(50)
    assert opt.lr == 0.3


def test_repr_is_readable():
    assert repr(Adam()) == "Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08)"
    assert repr(Momentum(lr=0.1, decay=InverseTimeDecay(0.5))) == (
        "Momentum(lr=0.1, beta=0.9, decay=InverseTimeDecay(decay_rate=0.5))")
    assert repr(SGD(lr=0.5)) == "SGD(lr=0.5)"


@pytest.mark.parametrize("make, error, message", [
    (lambda: SGD(lr=-0.1), ValueError, "lr must be a positive finite number, got -0.1"),
    (lambda: SGD(lr=0), ValueError, "lr must be a positive finite number"),
    (lambda: Adam(lr=float("nan")), ValueError, "lr must be a positive finite number"),
    (lambda: SGD(lr="0.1"), TypeError, "lr must be a positive number, got '0.1'"),
    (lambda: SGD(lr=True), TypeError, "lr must be a positive number"),
    (lambda: Momentum(beta=1.0), ValueError, r"beta must be in \[0, 1\), got 1.0"),
    (lambda: Adam(beta1=-0.1), ValueError, "beta1 must be in"),
    (lambda: Adam(beta2=1), ValueError, "beta2 must be in"),
    (lambda: Adam(eps=0), ValueError, "eps must be a positive finite number"),
    (lambda: RMSProp(eps=None), TypeError, "eps must be a positive number, got None"),
    (lambda: SGD(decay=0.5), TypeError, "decay must be None or a callable"),
    (lambda: InverseTimeDecay(-1), ValueError, "decay_rate must be a finite number >= 0"),
    (lambda: ScheduledInverseTimeDecay(1, interval=0), ValueError, "interval must be a positive"),
    (lambda: ScheduledInverseTimeDecay(1, interval=2.5), TypeError, "interval must be a positive int, got 2.5"),
    (lambda: StepDecay(every=0), ValueError, "every must be a positive int"),
    (lambda: StepDecay(factor=0), ValueError, "factor must be a positive finite number"),
    (lambda: SGD().set_epoch(-1), ValueError, "epoch must be >= 0"),
    (lambda: SGD().set_epoch(1.5), TypeError, "epoch must be an int"),
    (lambda: SGD(decay=lambda lr0, e: -1.0).set_epoch(0), ValueError, "must return a positive"),
])
def test_bad_arguments_raise_naming_the_argument(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_base_class_needs_an_update_rule():
    with pytest.raises(NotImplementedError):
        Optimizer(lr=0.1).step(np.zeros(2), np.zeros(2))
