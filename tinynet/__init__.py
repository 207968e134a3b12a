"""tinynet: a from-scratch multilayer perceptron in numpy with a gradient checker you can trust."""
