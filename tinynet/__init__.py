"""tinynet: a from-scratch multilayer perceptron in numpy with a gradient checker you can trust.

    import tinynet as tn
    net = tn.Network([tn.Dense(2, 16), tn.ReLU(), tn.Dense(16, 3)],
                     loss=tn.SoftmaxCrossEntropy(), penalty=tn.L2(lambd=0.7), seed=0)
    print(net.check_gradients(X, y))
"""

from . import datasets, optim, plot
from .checking import GradCheckReport, check_gradients, check_layer, check_loss, gradcheck
from .layers import Activation, Dense, Dropout, Layer, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .losses import Loss, MeanSquaredError, SigmoidCrossEntropy, SoftmaxCrossEntropy
from .monitor import ActivationMonitor
from .network import Network
from .normalization import BatchNorm, LayerNorm
from .optim import (SGD, Adam, InverseTimeDecay, Momentum, Optimizer, RMSProp,
                    ScheduledInverseTimeDecay, StepDecay)
from .penalties import L2
from .serialization import ModelFileError, load, register, register_layer
from .training import (Callback, EarlyStopping, GradientCheck, GradientCheckFailed,
                       GradientNormMonitor, History)

__version__ = "0.2.0"

__all__ = [
    "datasets", "optim", "plot",
    "Activation", "Dense", "Dropout", "Layer", "LeakyReLU", "ReLU", "Sigmoid", "Softmax", "Tanh",
    "BatchNorm", "LayerNorm",
    "Loss", "MeanSquaredError", "SigmoidCrossEntropy", "SoftmaxCrossEntropy",
    "Network", "L2",
    "SGD", "Momentum", "RMSProp", "Adam", "Optimizer",
    "InverseTimeDecay", "ScheduledInverseTimeDecay", "StepDecay",
    "check_gradients", "check_layer", "check_loss", "gradcheck", "GradCheckReport",
    "ActivationMonitor", "Callback", "EarlyStopping", "GradientCheck", "GradientCheckFailed",
    "GradientNormMonitor",
    "History",
    "ModelFileError", "load", "register", "register_layer",
]
