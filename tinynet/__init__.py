"""tinynet: a from-scratch multilayer perceptron in numpy with a gradient checker you can trust.

    import tinynet as tn
    net = tn.Network([tn.Dense(2, 16), tn.ReLU(), tn.Dense(16, 3)],
                     loss=tn.SoftmaxCrossEntropy(), penalty=tn.L2(lambd=0.7), seed=0)
    print(net.check_gradients(X, y))
"""

from .layers import Dense, Dropout, Layer, LeakyReLU, ReLU, Sigmoid, Tanh
from .losses import MeanSquaredError, SigmoidCrossEntropy, SoftmaxCrossEntropy
from .network import Network
from .penalties import L2
from .serialization import ModelFileError, load, register_layer

__version__ = "0.1.0"

__all__ = [
    "Dense", "Dropout", "Layer", "LeakyReLU", "ReLU", "Sigmoid", "Tanh",
    "MeanSquaredError", "SigmoidCrossEntropy", "SoftmaxCrossEntropy",
    "Network", "L2", "ModelFileError", "load", "register_layer",
]
