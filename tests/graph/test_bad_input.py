"""Bad input to graph models: each case raises NnxError with a message that says what was
wrong (a cycle cannot be built: a node only ever takes nodes that exist already)."""

import numpy as np
from errors_helper import raises

import nnx
from nnx import layers

X = np.random.default_rng(0).standard_normal((6, 4))


def two_inputs():
    a, b = nnx.Input((4,), name="a"), nnx.Input((4,), name="b")
    model = nnx.Model([a, b], layers.Dense(2, name="out")(layers.Add()([a, b])))
    return model.compile(optimizer="sgd", loss="mse")


def test_an_output_not_reachable_from_the_inputs():
    a, other = nnx.Input((4,), name="a"), nnx.Input((4,), name="other")
    out = layers.Dense(2, name="head")(other)
    raises(lambda: nnx.Model(a, out), "output 'head' is not reachable from the model's inputs "
           "(a): node 'head' takes the input 'other', which is not among them")


def test_a_node_from_another_graph():
    a = nnx.Input((4,), name="a")
    foreign = layers.Dense(4, name="elsewhere")(nnx.Input((4,), name="b"))
    out = layers.Dense(1, name="out")(layers.Add()([layers.Dense(4)(a), foreign]))
    raises(lambda: nnx.Model(a, out), "output 'out' is not reachable",
           "node 'elsewhere' takes the input 'b'", "a node from another graph?")


def test_mismatched_merge_shapes():
    a, b = nnx.Input((4,)), nnx.Input((3,))
    raises(lambda: layers.Add()([a, b]), "layer 'add' needs inputs of one shape, got (4,) and "
           "(3,)")
    raises(lambda: layers.Multiply()([a, b]), "needs inputs of one shape")
    c = nnx.Input((2, 4))
    raises(lambda: layers.Concatenate()([a, c]), "needs inputs of one rank, got (4,) and (2, 4)")
    d, e = nnx.Input((2, 4)), nnx.Input((3, 5))
    raises(lambda: layers.Concatenate(axis=-1)([d, e]), "joins along axis -1; the other axes "
           "must agree, got (2, 4) and (3, 5)")
    raises(lambda: layers.Concatenate(axis=0)([a, a]), "axis 0 does not fit", "axis 0 is the "
           "batch")


def test_wrong_number_of_input_arrays():
    model = two_inputs()
    raises(lambda: model.predict(X), "the model has 2 inputs (a, b): give a list of 2 arrays "
           "or a dict by name, got one ndarray")
    raises(lambda: model.fit([X], np.ones((6, 2))), "the model has 2 inputs (a, b): give a "
           "list of 2 arrays or a dict by name, got a list of 1")
    raises(lambda: model.predict({"a": X, "c": X}), "the model's inputs are a, b; got arrays "
           "for a, c")


def test_wrong_shapes_and_sample_counts_name_the_input():
    model = two_inputs()
    raises(lambda: model.predict([X, X[:, :3]]), "the model expects input 'b' of shape "
           "(batch, 4), got (6, 3)")
    raises(lambda: model.predict([X, X[:5]]), "input 'b' has 5 samples but input 'a' has 6")
    raises(lambda: model.evaluate([X, X], np.ones((5, 2))), "inputs have 6 samples but targets "
           "have 5")
    raises(lambda: model.predict([X, np.full((6, 4), np.nan)]), "input 'b' contains NaN")


def test_wrong_targets_of_several_outputs_name_the_output():
    a = nnx.Input((4,), name="a")
    h = layers.Dense(3)(a)
    model = nnx.Model(a, [layers.Dense(3, activation="softmax", name="cls")(h),
                          layers.Dense(2, name="reg")(h)])
    model.compile(optimizer="sgd", loss=["categorical_crossentropy", "mse"])
    raises(lambda: model.evaluate(X, np.zeros(6)), "the model has 2 outputs (cls, reg)")
    raises(lambda: model.evaluate(X, [np.full(6, 3), np.zeros((6, 2))]),
           "output 'cls': class labels must be in 0..2")
    raises(lambda: model.evaluate(X, [np.zeros(6), np.zeros((6, 3))]),
           "output 'reg': targets of shape (6, 3) do not match the model output (batch, 2)")


def test_compile_per_output_arguments():
    a = nnx.Input((4,))
    model = nnx.Model(a, [layers.Dense(1, name="p")(a), layers.Dense(1, name="q")(a)])
    raises(lambda: model.compile(loss=["mse"]), "compile: loss has 1 entries for 2 outputs "
           "(p, q)")
    raises(lambda: model.compile(loss={"p": "mse", "qq": "mse"}), "loss names 'qq', which is "
           "not an output; the outputs are p, q (did you mean 'q'?)")
    raises(lambda: model.compile(loss={"p": "mse"}), "compile: loss gives nothing for output 'q'")
    raises(lambda: model.compile(loss="mse", loss_weights=[1.0, -1.0]),
           "compile: loss_weights must be a number >= 0, got -1.0")


def test_calling_layers_wrongly():
    a = nnx.Input((4,))
    raises(lambda: layers.Dense(2)(X), "layer 'dense' was called on ndarray: call a layer on a "
           "node")
    raises(lambda: layers.Add()(a), "layer 'add' merges several nodes: call it on a list, e.g. "
           "Add()([a, b])")
    raises(lambda: layers.Dense(2)([a, a]), "layer 'dense' takes one node, got a list of 2")
    raises(lambda: layers.Add()([a]), "layer 'add' merges several inputs")
    raises(lambda: layers.Dense(2)(nnx.Input((2, 4))), "expects flat inputs")
    shared = layers.Dense(2, name="shared")
    shared(a)
    raises(lambda: shared(nnx.Input((5,))), "layer 'shared' is shared: it was called on inputs "
           "of shape (4,), now on (5,)")


def test_bad_model_arguments():
    a = nnx.Input((4,), name="a")
    h = layers.Dense(3)(a)
    raises(lambda: nnx.Model(h, layers.Dense(1)(h)), "model inputs must be nnx.Input nodes")
    raises(lambda: nnx.Model(a, X), "model outputs must be nodes")
    raises(lambda: nnx.Model([a, a], h), "the input 'a' is listed twice")
    raises(lambda: nnx.Model(a, []), "a model needs at least one node in outputs")
    raises(lambda: nnx.Input((0, 3)), "Input: shape must be a tuple of positive integers")
    raises(lambda: nnx.Input(4, name=""), "Input: name must be a non-empty string")
    b = nnx.Input((4,), name="a")
    raises(lambda: nnx.Model([a, b], layers.Add()([a, b])), "two nodes of the model are named "
           "'a'")
    named = [layers.Dense(4, name="twin"), layers.Dense(4, name="twin")]
    raises(lambda: nnx.Model(a, named[1](named[0](a))), "two layers (or a layer and an input) "
           "of the model are named 'twin'")


def test_unknown_node_for_predict_and_merge_layers_outside_graphs():
    model = two_inputs()
    raises(lambda: model.predict([X, X], output="ad"), "the model has no node 'ad'; its nodes: "
           "a, b, add, out (did you mean 'add'?)")
    raises(lambda: nnx.Sequential([layers.Dense(4), layers.Add()], input_shape=(4,)),
           "layer 1 (add): layer 'add' merges several inputs: call it on a list of nodes")
    seq = nnx.Sequential([layers.Dense(4), layers.Dense(4)], input_shape=(4,))
    raises(lambda: seq.predict(X, output="dense"), "several layers are named 'dense': give one "
           "of 0.dense, 1.dense")
    raises(lambda: seq.predict(X, output="hidden"), "the model has no layer 'hidden'")
