"""What each notebook concludes, as checks that tests/test_notebooks.py evaluates in the notebook's
own kernel after its last cell has run.

A notebook is a lesson: its "What you should see" cells state conclusions, and a conclusion
that flips on another machine (another CPU's BLAS kernels round differently, and a training run
amplifies the last bits) teaches the opposite of what it says. So each conclusion is listed
here as (what the prose says, a Python expression over the notebook's own variables), with a
margin, and over several seeds where the notebook trains several. The expressions read the very
values the notebook printed; they are checked in every fresh run of the notebook suite. To see
other rounding on this machine, run it with OPENBLAS_CORETYPE=Sandybridge or Prescott.
"""

LOG2 = "0.6931471805599453"

# 06 plants its bugs in layers whose beta is set after construction
BUGGY_SWISH = ("(lambda layer: (layer.params['beta'].__setitem__(Ellipsis, [0.5, 1.0, 2.0]),"
               " tn.check_layer(layer, x).failed)[1])({}(3))")

CLAIMS = {
    "01_gradient_checking": [
        ("section 1: the two-sided estimate is far closer to 3 than the one-sided one",
         "abs(two_sided - 3) < abs(one_sided - 3) / 100"),
        ("section 2: the 1-D difference is far below 1e-7", "difference < 1e-8"),
        ("section 3: the correct network passes with every block great",
         "(lambda r: r.passed and max(r.blocks.values()) < 1e-7)(net.check_gradients(X, y))"),
        (("section 3: the planted bugs fail exactly b1 and W2; the difference matches the course's"
         " to 7 digits"),
         ("(lambda r: sorted(r.failed) == ['W2', 'b1'] and abs(r.difference - 0.2850931567761623)"
         " < 5e-8)(buggy.check_gradients(X, y))")),
        ("section 4: hand-written functions pass without the bugs, fail with them; the two J agree",
         ("tn.gradcheck(lambda p: forward_propagation_n(x, Y, p), course_parameters,"
         " backward_propagation_n(x, Y, cache)).passed"
         " and not tn.gradcheck(lambda p: forward_propagation_n(x, Y, p), course_parameters,"
         " backward_propagation_n(x, Y, cache, bugs=True)).passed"
         " and abs(cost - net.cost(X, y)) < 1e-12 * cost")),
        ("section 5: the float32 model passes; the naive float32 differences are far above 1e-7",
         ("report32.passed and all(naive_float32_difference(net32, eps) > 1e-6"
         " for eps in (1e-7, 1e-4, 1e-2))")),
        ("section 6: the kink is set aside and the check passes; the naive estimate of db1[0] differs",
         ("(lambda r: r.passed and r.results['b1'].kinks >= 1)(kink_net.check_gradients(Xk, yk))"
         " and abs(naive_b1[0] - kink_net.cost_and_grad(Xk, yk)[1][b1.start]) > 1e-3"
         " and np.allclose(naive_b1[1:], kink_net.cost_and_grad(Xk, yk)[1][b1.start + 1:b1.stop])")),
        ("section 7: both checks pass, the L2 share shows only with the penalty",
         ("l2_net.check_gradients(X, y).passed and '%' in str(l2_net.check_gradients(X, y))"
         " and l2_net.check_gradients(X, y, penalty=False).passed")),
        ("section 8: the forgotten 1/keep_prob passes with dropout off, fails frozen",
         "off.passed and not frozen.passed"),
        ("sections 9 and 10: every check during training passes, the screened big network too",
         ("len(checker.reports) == 4 and all(r.passed for _, r in checker.reports)"
         " and big.check_gradients(Xm, ym, mode='screen').passed")),
        ("section 11: blame names the two Dense layers of the course's bugs, each for its parameter",
         ("sorted((c.where, c.part) for c in buggy.check_gradients(X, y).culprits)"
         " == [('layers[0]', 'b'), ('layers[2]', 'W')]")),
        ("section 11: a 1.5x Tanh backward in layers[3] is the one culprit; the blocks below fail because of it",
         ("(lambda r: [(c.where, c.part) for c in r.culprits] == [('layers[3]', 'x')]"
         " and sorted(r.failed) == ['W1', 'W2', 'b1', 'b2']"
         " and r.caused_by == {k: 'layers[3]' for k in ('W1', 'b1', 'W2', 'b2')}"
         " and abs(r.difference - 0.2) < 0.05)(net_bad.check_gradients(Xf[:32], yf[:32]))")),
    ],
    "02_initialization": [
        ("zeros: the cost stays at log 2, accuracies 0.5, no weight ever moves",
         (f"abs(histories['zeros']['loss'][-1] - {LOG2}) < 1e-9"
         " and nets['zeros'].score(X_train, y_train) == 0.5 and nets['zeros'].score(X_test, y_test) == 0.5"
         " and all(np.abs(zeros_net.parameters()[k]).max() == 0 for k in ('W1', 'W2', 'W3'))")),
        ("constant 0.5: the rows of W1 and W2 stay identical",
         ("np.abs(W1 - W1[0]).max() < 1e-12"
         " and np.abs(const.parameters()['W2'] - const.parameters()['W2'][0]).max() < 1e-12")),
        ("large random: a huge initial cost, accuracies well below He's",
         ("histories['large random (scale=10)']['loss'][0] > 10"
         " and nets['large random (scale=10)'].score(X_train, y_train) < nets['He'].score(X_train, y_train) - 0.05"
         " and nets['large random (scale=10)'].score(X_test, y_test) < nets['He'].score(X_test, y_test) - 0.05")),
        ("He, Xavier, Glorot: the cost falls by orders of magnitude, accuracies close to 1",
         ("all(histories[k]['loss'][-1] < histories[k]['loss'][0] / 10 and nets[k].score(X_train, y_train)"
         " >= 0.97 and nets[k].score(X_test, y_test) >= 0.95 for k in ('He', 'Xavier', 'Glorot'))")),
        ("He's W1 rows differ: symmetry broken", "np.abs(he - he[0]).max() > 0.1"),
    ],
    "03_regularization": [
        ("in the means over seeds, L2 and dropout have a higher test accuracy than no regularization",
         ("all(mean[k][1] > mean['no regularization'][1] + 0.005"
         " for k in ('L2, lambd = 0.7', 'dropout, keep_prob = 0.86'))")),
        ("in the means, L2 has the smallest train-test gap",
         ("(lambda gap: gap['L2, lambd = 0.7'] < min(gap['no regularization'],"
         " gap['dropout, keep_prob = 0.86']))({k: m[0] - m[1] for k, m in mean.items()})")),
        ("the unregularized cost curve shows spikes: it trains on the edge of stability",
         "np.max(np.diff(histories['no regularization']['loss'])) > 0.005"),
        ("the training accuracies of the three are close",
         "max(m[0] for m in mean.values()) - min(m[0] for m in mean.values()) < 0.03"),
        ("Σ‖W[l]‖² is clearly the smallest with L2",
         ("(lambda w: w['L2, lambd = 0.7'] < 0.5 * min(w['no regularization'], w['dropout, keep_prob = 0.86']))"
         "({k: sum(float((n.parameters()[b] ** 2).sum()) for b in ('W1', 'W2', 'W3')) for k, n in runs.items()})")),
        ("the L2 share of W1, W2, W3 is between 10 % and 90 %, so the report has no note",
         ("all(0.1 < l2_report.results[b].penalty_share < 0.9 for b in ('W1', 'W2', 'W3'))"
         " and not l2_report.notes")),
        ("the gradient checks pass (L2, L2 without the penalty, dropout off and frozen)",
         ("l2_report.passed and runs['L2, lambd = 0.7'].check_gradients(Xc, yc, penalty=False).passed"
         " and reports['off'].passed and reports['frozen'].passed")),
    ],
    "04_input_normalization": [
        (("the standardized training set has mean 0 and std 1; the test set's mean is close to 0,"
         " not exactly 0"),
         ("np.allclose(std_train.mean(axis=0), 0, atol=1e-12) and np.allclose(std_train.std(axis=0), 1)"
         " and 0 < np.abs(std_test.mean(axis=0)).max() < 0.2")),
        (("raw features: no learning rate gets the cost much below log 2; accuracies far below the"
         " standardized run's"),
         ("best['raw'][2]['loss'][-1] > 0.6 and best['raw'][1].score(raw_train, y_train)"
         " < best['standardized'][1].score(std_train, y_train) - 0.2")),
        (("standardized: the largest learning rate works, the cost falls by orders of magnitude,"
         " accuracies near 1"),
         ("best['standardized'][0] == 1.0 and best['standardized'][2]['loss'][-1] < 0.05"
         " and best['standardized'][1].score(std_train, y_train) >= 0.97"
         " and best['standardized'][1].score(std_test, y_test) >= 0.97")),
        ("the bowl: orders of magnitude steeper along w2 unscaled, similar rises standardized",
         ("rises['centered, unscaled'][1] > 100 * rises['centered, unscaled'][0]"
         " and 0.2 < rises['standardized'][1] / rises['standardized'][0] < 5")),
    ],
    "05_vanishing_exploding_gradients": [
        ("section 1: every linear layer multiplies the activations by w",
         ("np.allclose(sizes[1.5][1:] / sizes[1.5][:-1], 1.5)"
         " and np.allclose(sizes[0.5][1:] / sizes[0.5][:-1], 0.5)")),
        ("small and large ReLU weights: the measured factor per layer is about the predicted one",
         "all(0.8 < measured / predicted < 1.2 for measured, predicted in factor.values())"),
        ("large tanh weights saturate well over half the units, Xavier almost none",
         ("np.mean([v[0] for v in at_init['tanh', 'large: normal, std 1.0'].saturated.values()]) > 0.5"
         " and np.mean([v[0] for v in at_init['tanh', 'Xavier'].saturated.values()]) < 0.05")),
        ("He and Xavier: the std of a[l] stays within a small factor across the layers",
         ("all(max(s) / min(s) < 4 for s in ([v[0] for v in at_init[k].std.values()]"
         " for k in (('ReLU', 'He'), ('tanh', 'Xavier'))))")),
        ("small: the signal dZ vanishes towards the first layer",
         ("all(signal[act, 'small: normal, std 0.01'][0] / signal[act, 'small: normal, std 0.01'][8]"
         " < 1e-6 for act in ('ReLU', 'tanh'))")),
        ("large: the signal grows towards the first layer",
         ("signal['ReLU', 'large: normal, std 0.5'][0] / signal['ReLU', 'large: normal, std 0.5'][8] > 10"
         " and signal['tanh', 'large: normal, std 1.0'][0] / signal['tanh', 'large: normal, std 1.0'][8] > 10")),
        ("He / Xavier: the hidden layers' signal spans a factor of a few",
         "all(signal[k][:-1].max() / signal[k][:-1].min() < 5 for k in (('ReLU', 'He'), ('tanh', 'Xavier')))"),
        ("db cancels what dZ carries, by orders of magnitude for the small init",
         ("cancelled['small: normal, std 0.01'][0] < 1e-3 * cancelled['small: normal, std 0.01'][1]"
         " and all(a < b and 0.3 < b < 0.8 for a, b in cancelled.values())")),
        ("small init: 50 % on every seed, the cost stays at log 2, updates far below 1e-3",
         ("all(np.all(runs[act, 'small: normal, std 0.01']['accuracy'] == 0.5)"
         f" and abs(runs[act, 'small: normal, std 0.01']['loss'][-1] - {LOG2}) < 1e-3"
         " and max(max(v) for k, v in runs[act, 'small: normal, std 0.01']['monitor'].update_ratio.items()"
         " if k.startswith('W')) < 1e-5 for act in ('ReLU', 'tanh'))")),
        ("small ReLU init: W1's steps are below the rounding of W1, it does not change at all",
         "np.median(runs['ReLU', 'small: normal, std 0.01']['monitor'].update_ratio['W1']) == 0"),
        ("large init: a much higher cost after the first epoch than He / Xavier",
         ("runs['ReLU', 'large: normal, std 0.5']['loss'][0] > 10 * runs['ReLU', 'He']['loss'][0]"
         " and runs['tanh', 'large: normal, std 1.0']['loss'][0] > 2 * runs['tanh', 'Xavier']['loss'][0]")),
        ("large tanh: still well above Xavier after 10 epochs",
         "runs['tanh', 'large: normal, std 1.0']['loss'][9] > 1.5 * runs['tanh', 'Xavier']['loss'][9]"),
        ("large tanh: the first layer changes several times faster than the last",
         ("np.median(runs['tanh', 'large: normal, std 1.0']['monitor'].update_ratio['W1'])"
         " > 3 * np.median(runs['tanh', 'large: normal, std 1.0']['monitor'].update_ratio['W10'])")),
        ("He / Xavier learn the moons on every seed, every layer's ratio in one band",
         ("all(np.nanmin(runs[k]['accuracy']) >= 0.9 and np.mean(runs[k]['accuracy']) >= 0.95"
         " and all(1e-5 < np.median(v) < 1e-2 for n, v in runs[k]['monitor'].update_ratio.items()"
         " if n.startswith('W')) for k in (('ReLU', 'He'), ('tanh', 'Xavier')))")),
    ],
    "06_custom_layer": [
        ("the planted bugs fail the right block, the correct layer passes",
         (f"{BUGGY_SWISH.format('SwishForgotTerm')} == ['x']"
         f" and {BUGGY_SWISH.format('SwishWrongBeta')} == ['beta'] and {BUGGY_SWISH.format('Swish')} == []")),
        ("kinks: MyReLU passes with and without the hook, the two kink entries counted; MyReLUWrong fails",
         ("all((lambda r: r.passed and r.results['x'].kinks == 2)(tn.check_layer(L(), x_kink))"
         " for L in (MyReLU, MyReLUWithKinks)) and tn.check_layer(MyReLUWrong(), x_kink).failed == ['x']")),
        ("claims: an Activation subclass with its own forward inherits no claim; the batch-centring "
         "layer passes with two notes, its buggy version fails W1, b1 and is blamed",
         ("not MyReLU.rowwise and not MyReLU.elementwise"
         " and (lambda r: r.passed and sum('declares' in n for n in r.notes) == 2)(tn.Network("
         "[tn.Dense(4, 6), tn.Tanh(), BatchCentre(), tn.Dense(6, 3)], loss=tn.SoftmaxCrossEntropy(),"
         " seed=0).check_gradients(X_small, y_small))"
         " and (lambda r: sorted(r.failed) == ['W1', 'b1'] and [(c.where, c.part) for c in r.culprits]"
         " == [('layers[2]', 'x')])(tn.Network([tn.Dense(4, 6), tn.Tanh(), BatchCentreMeanAsConstant(),"
         " tn.Dense(6, 3)], loss=tn.SoftmaxCrossEntropy(), seed=0).check_gradients(X_small, y_small))")),
        ("the whole network passes before and after training and separates the spiral arms",
         "report.passed and after.passed and net.score(X, y) >= 0.95"),
        ("the loaded model is the same model",
         "np.array_equal(loaded.params, net.params) and np.array_equal(loaded.predict(X), net.predict(X))"),
        ("check_loss passes the hinge loss and fails the one without 1/m; in a network the loss is blamed",
         ("tn.check_loss(MulticlassHinge(), scores, labels).passed"
         " and tn.check_loss(HingeForgetsM(), scores, labels).failed == ['scores']"
         " and [(c.where, c.part) for c in tn.Network([tn.Dense(2, 32), Swish(32), tn.Dense(32, 3)],"
         " loss=HingeForgetsM(), seed=0).check_gradients(X[:40], y[:40]).culprits] == [('loss', 'scores')]")),
        ("the hinge loss trains: History has loss, accuracy, lr; the spirals are separated",
         "list(history_h.history) == ['loss', 'accuracy', 'lr'] and net_h.score(X, y) >= 0.95"),
    ],
    "07_optimization": [
        ("mini-batch GD and momentum end with almost the same cost and accuracy",
         ("abs(histories['mini-batch GD']['loss'][-1] - histories['momentum']['loss'][-1]) < 0.02"
         " and abs(nets['mini-batch GD'].score(X, y) - nets['momentum'].score(X, y)) <= 0.02")),
        ("their cost is still falling after 10000 epochs",
         "all(histories[k]['loss'][-1] < histories[k]['loss'][-2000] for k in ('mini-batch GD', 'momentum'))"),
        ("Adam drives the cost far lower and reaches a higher accuracy",
         ("histories['Adam']['loss'][-1] < histories['mini-batch GD']['loss'][-1] / 5"
         " and nets['Adam'].score(X, y) > nets['mini-batch GD'].score(X, y) + 0.03")),
        ("Adam reaches its final accuracy within the first few thousand epochs",
         "np.mean(histories['Adam']['accuracy'][2500:3000]) > nets['Adam'].score(X, y) - 0.03"),
        ("history['lr'] steps down at epochs 1000, 2000, 3000, 4000",
         ("np.allclose([lrs[k] for k in (0, 999, 1000, 2000, 3000, 4000, 4999)],"
         " [0.1, 0.1, 0.05, 0.1 / 3, 0.025, 0.02, 0.02])")),
        ("with decay, mini-batch GD and momentum reach the accuracy Adam reached before",
         "all(decayed[k].score(X, y) >= nets['Adam'].score(X, y) - 0.02 for k in decayed)"),
    ],
    "08_planar_classification": [
        ("logistic regression: a straight line, about chance", "logreg.score(X, y) < 0.6"),
        ("4 tanh units: the cost falls quickly over the first thousand iterations, then slowly",
         ("history['loss'][1000] < 0.5 * history['loss'][0]"
         " and history['loss'][1000] - history['loss'][-1] < 0.1 * (history['loss'][0] - history['loss'][1000])"
         " and net.score(X, y) >= 0.88")),
        ("the gradient check of the trained network passes", "report.passed"),
        ("1 and 2 units stay far below the others; from 3 units on the accuracy jumps",
         "max(accuracy[1], accuracy[2]) < min(accuracy[n] for n in (3, 4, 5, 20, 50)) - 0.15"),
        ("20 and 50 units fit about as well as 4 (within a couple of points)",
         "all(abs(accuracy[n] - accuracy[4]) <= 0.025 for n in (20, 50))"),
    ],
    "09_batch_normalization": [
        ("section 1: tn.BatchNorm computes the hand-written forward",
         "np.abs(out - z_tilde).max() < 1e-12 and np.abs(z_hat.mean(axis=0)).max() < 1e-12"),
        ("section 2: staged and compact backward agree; dz sums to 0 per unit",
         "np.abs(dz_staged - dz_compact).max() < 1e-10 and np.abs(dz_compact.sum(axis=0)).max() < 1e-12"),
        ("section 2: check_layer passes on the hand-written layer and on tn.BatchNorm",
         "tn.check_layer(MyBatchNorm(3), z).passed and tn.check_layer(tn.BatchNorm(3), z).passed"),
        ("section 3: the constant-statistics bug fails exactly the x block alone, W1 and b1 in a network",
         "layer_report.failed == ['x'] and good_report.passed and buggy_report.failed == ['W1', 'b1']"),
        ("section 3: blame names the hand-written layer's input gradient, and W1, b1 fail because of it",
         ("[(c.where, c.part) for c in buggy_report.culprits] == [('layers[1]', 'x')]"
         " and buggy_report.caused_by == {'W1': 'layers[1]', 'b1': 'layers[1]'}")),
        ("section 4: without batch norm about half the tanh units saturate from the first step on",
         ("all(0.35 < saturation[False, s][0] and saturation[False, s][-1] > saturation[False, s][0]"
          " - 0.05 for s in seeds)")),
        ("section 4: with batch norm only a few percent saturate, at every recorded step",
         "all(saturation[True, s].max() < 0.1 for s in seeds)"),
        ("section 4: with large weights every seed trains with batch norm; without, far worse on average",
         ("min(large_init_accuracy[True, s] for s in seeds) > 0.9 and"
          " np.mean([large_init_accuracy[False, s] for s in seeds])"
          " < np.mean([large_init_accuracy[True, s] for s in seeds]) - 0.2")),
        ("section 4: with batch norm every learning rate from 0.003 to 1 trains on every seed",
         "min(accuracy[True, lr, s] for lr in learning_rates for s in seeds) > 0.9"),
        ("section 4: without batch norm only 0.03 to 0.3 train, 0.003 learns little, 1 breaks down",
         ("min(accuracy[False, lr, s] for lr in (0.03, 0.1, 0.3) for s in seeds) > 0.9"
          " and max(accuracy[False, 0.003, s] for s in seeds) < 0.75"
          " and np.mean([accuracy[False, 1.0, s] for s in seeds]) < 0.7"
          " and min(accuracy[False, 1.0, s] for s in seeds) < 0.4")),
        ("section 5: training mode depends on the batch, inference mode does not",
         "np.abs(out_a - out_b).max() > 0.1 and np.abs(out_c - out_d).max() < 1e-9"),
        ("section 5: running statistics close to the training set's; accuracies close",
         "gap.max() < 0.5 and abs(train_mode_accuracy - inference_accuracy) < 0.05"),
        ("section 5: the trained network's check passes and leaves its running statistics as they were",
         "check.passed and buffers_unchanged"),
    ],
    "10_hyperparameter_search": [
        (("softmax: probabilities are the softmax by hand, J its mean −log a_y, the fused backward"
         " (a − one_hot(y)) / m, and the check passes"),
         ("np.allclose(small.predict_proba(X_train), a) and np.isclose(J, -np.mean(np.log(a[np.arange(m), y_train])))"
          " and softmax_backward_error < 1e-12 and softmax_check.passed")),
        ("the grid tries 5 learning rates, the random trials 25",
         "len(np.unique(grid_lr)) == 5 and len(np.unique(random_lr)) == 25"),
        ("uniform sampling puts about 90 % in the last decade, the log scale about a quarter in each",
         "share['uniform'][-1] > 0.85 and all(0.18 < s < 0.32 for s in share['log scale'])"),
        ("the hyperparameters decide between a useless model and a good one",
         "coarse[2].min() <= 0.3 and coarse[2].max() >= 0.75"),
        ("the good coarse trials lie below a threshold of lambd and inside a band of learning rates",
         ("all(lambd[i] < 0.3 and 1e-3 < lr[i] < 0.1 for i in order[:5])"
          " and all(a < 0.6 for a, l in zip(accuracy, lr) if l > 0.3 or l < 5e-4)")),
        ("the fine search's median trial is far better than the coarse search's median",
         "np.median(fine[2]) > np.median(coarse[2]) + 0.1"),
        ("the test accuracy of the chosen model is close to its validation accuracy",
         "abs(test_accuracy - val_accuracy) < 0.1 and test_accuracy >= 0.7"),
    ],
}
