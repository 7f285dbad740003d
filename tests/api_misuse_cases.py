"""Misuse of the public Python API, one function per case, run by tests/forked_runner.py in a
forked child each (tests/test_api_misuse.py): a case passes when the misuse ends in an
NnxError that names what is wrong, or in the same answer as correct use. A crash of the
interpreter (a kernel handed arrays of the wrong size) kills only that child.
"""

import numpy as np

import nnx
from nnx import NnxError, layers, losses, optimizers
from nnx.callbacks import LambdaCallback
from nnx.diagnostics import Diagnostics

CASES = {}  # name -> function of no arguments

RNG = np.random.default_rng(0)
X = RNG.standard_normal((64, 4)).astype(np.float32)
Y = RNG.integers(0, 3, 64)


def case(function):
    CASES[function.__name__] = function
    return function


def refuses(call, *fragments):
    """`call()` must raise NnxError whose message holds every fragment."""
    try:
        call()
    except NnxError as err:
        message = str(err)
        missing = [f for f in fragments if f not in message]
        assert not missing, f"{missing} not in the message {message!r}"
        return message
    raise AssertionError("no NnxError was raised")


def mlp(hidden=8, inputs=4, seed=0, dtype="float32", optimizer="adam"):
    """A compiled two-layer classifier; its layers are named `hidden` and `out`."""
    model = nnx.Sequential([layers.Dense(hidden, activation="relu", name="hidden"),
                            layers.Dense(3, activation="softmax", name="out")],
                           input_shape=(inputs,), seed=seed, dtype=dtype)
    return model.compile(optimizer=optimizer, loss="categorical_crossentropy",
                         metrics=["accuracy"])


def weights_equal(a, b):
    for layer_a, layer_b in zip(a.get_weights(), b.get_weights(), strict=True):
        for key in layer_a:
            np.testing.assert_array_equal(layer_a[key], layer_b[key])


def warm_up():
    """Load the common kernels once in the parent, before the children are forked."""
    mlp().fit(X, Y, epochs=1, batch_size=32)


# -- one optimizer, several models ---------------------------------------------------------
@case
def optimizer_reused_by_a_wider_model():
    """The crash of old: state sized for the first model. Now the second model trains as
    with an optimizer of its own."""
    shared = optimizers.Adam(lr=0.01)
    mlp(hidden=8, optimizer=shared).fit(X, Y, epochs=1)
    wide, alone = (mlp(hidden=200, optimizer=opt, seed=1)
                   for opt in (shared, optimizers.Adam(lr=0.01)))
    curve = wide.fit(X, Y, epochs=4, batch_size=16).history["loss"]
    alone.fit(X, Y, epochs=4, batch_size=16)
    assert np.isfinite(curve).all() and curve[-1] < curve[0], curve
    weights_equal(wide, alone)


@case
def optimizer_state_is_built_at_compile():
    opt = optimizers.Adam()
    first = mlp(hidden=8, optimizer=opt)
    second = mlp(hidden=5, optimizer=opt)
    for model in (first, second):
        for p in model.parameters():
            slots = opt.slots_of(p)
            assert set(slots) == {"m", "v"} and slots["m"].shape == p.shape, slots


@case
def optimizer_reused_keeps_each_models_state_apart():
    """Interleaving two models on one optimizer trains each exactly as alone."""
    alone = mlp(hidden=8, optimizer=optimizers.Adam(lr=0.01))
    alone.fit(X, Y, epochs=2, shuffle=False)
    shared = optimizers.Adam(lr=0.01)
    first, second = mlp(hidden=8, optimizer=shared), mlp(hidden=5, optimizer=shared, seed=3)
    first.fit(X, Y, epochs=1, shuffle=False)
    second.fit(X, Y, epochs=1, shuffle=False)
    first.fit(X, Y, epochs=1, shuffle=False)
    weights_equal(first, alone)


@case
def optimizer_reused_with_diagnostics():
    """The per-parameter figures diagnostics read belong to the model being trained."""
    opt = optimizers.SGD(lr=0.1, momentum=0.9)
    mlp(hidden=8, optimizer=opt).fit(X, Y, epochs=1)
    diagnostics = Diagnostics("full")
    second = mlp(hidden=16, optimizer=opt)
    second.fit(X, Y, epochs=2, callbacks=[diagnostics])
    for i, name in enumerate(("0.hidden", "1.out")):
        record = diagnostics.per_epoch[name]
        for key, value in second.layers[i].params.items():
            assert len(record[f"grad_norm.{key}"]) == 2
            np.testing.assert_allclose(record[f"weight_norm.{key}"][-1], np.linalg.norm(value),
                                       rtol=1e-5)


@case
def optimizer_param_replaced_mid_training():
    """A param replaced by an array of the right layout starts with fresh optimizer state
    (Adam's first moment is then (1 - beta1) g); the others keep theirs."""
    model = mlp()
    model.fit(X, Y, epochs=1)
    layer = model.layers[0]
    layer.params["W"] = layer.params["W"].copy()
    model.train_step(X[:16], Y[:16])
    slots = model.optimizer.slots_of
    np.testing.assert_allclose(slots(layer.params["W"])["m"], 0.1 * layer.grads["W"],
                               rtol=1e-5, atol=1e-9)
    assert not np.allclose(slots(layer.params["b"])["m"], 0.1 * layer.grads["b"])


@case
def optimizer_step_lists_of_different_lengths():
    params = [np.zeros((3, 2)), np.zeros(2)]
    refuses(lambda: optimizers.Adam().step(params, [np.zeros((3, 2))]),
            "2 parameters", "1 gradient")


@case
def optimizer_step_gradient_of_another_shape():
    refuses(lambda: optimizers.Adam().step([np.zeros((3, 2))], [np.zeros((2, 3))]),
            "parameter 0", "(3, 2)", "(2, 3)")


@case
def optimizer_step_gradient_of_another_dtype():
    refuses(lambda: optimizers.RMSprop().step([np.zeros(4, np.float32)], [np.zeros(4)]),
            "parameter 0", "float32", "float64")


@case
def optimizer_step_strided_parameter():
    """An update into a strided view would land in a copy and be lost: refused."""
    base = np.zeros((4, 6))
    refuses(lambda: optimizers.SGD(lr=0.1).step([base[:, ::2]], [np.ones((4, 3))]),
            "parameter 0", "contiguous")


@case
def optimizer_step_scalars():
    refuses(lambda: optimizers.Adam().step([1.0], [0.5]), "parameter 0", "array")


@case
def optimizer_step_integer_parameter():
    refuses(lambda: optimizers.SGD().step([np.zeros(3, np.int64)], [np.zeros(3, np.int64)]),
            "parameter 0", "int64")


@case
def optimizer_step_read_only_parameter():
    p = np.zeros(3)
    p.flags.writeable = False
    refuses(lambda: optimizers.SGD().step([p], [np.ones(3)]), "parameter 0", "read-only")


@case
def optimizer_step_read_only_gradient_with_clipping():
    g = np.ones(3)
    g.flags.writeable = False
    refuses(lambda: optimizers.SGD(clipvalue=0.5).step([np.zeros(3)], [g]),
            "gradient of parameter 0", "read-only")


@case
def optimizer_step_fortran_gradient_gives_the_same_answer():
    g = RNG.standard_normal((4, 3))
    p, q = np.ones((4, 3)), np.ones((4, 3))
    optimizers.Adam(lr=0.1).step([p], [np.asfortranarray(g)])
    optimizers.Adam(lr=0.1).step([q], [g])
    np.testing.assert_array_equal(p, q)


@case
def optimizer_step_same_position_new_shape():
    """Position 0 holding another array of another size: its own fresh state."""
    opt, fresh = optimizers.Adagrad(lr=0.1), optimizers.Adagrad(lr=0.1)
    opt.step([np.ones(3)], [np.ones(3)])
    p, q = np.ones(50), np.ones(50)
    opt.step([p], [np.full(50, 2.0)])
    fresh.step([q], [np.full(50, 2.0)])
    np.testing.assert_array_equal(p, q)


# -- parameters replaced by arrays that do not fit -------------------------------------------
@case
def param_of_wrong_shape():
    model = mlp()
    model.layers[0].params["W"] = np.zeros((3, 3), np.float32)
    refuses(lambda: model.fit(X, Y), "layer 'hidden'", "params['W']", "(3, 3)", "(4, 8)")


@case
def param_of_wrong_shape_in_predict():
    model = mlp()
    model.layers[1].params["b"] = np.zeros(7, np.float32)
    refuses(lambda: model.predict(X), "layer 'out'", "params['b']", "(7,)")


@case
def param_float64_in_float32_model():
    model = mlp()
    model.layers[0].params["W"] = model.layers[0].params["W"].astype(np.float64)
    refuses(lambda: model.fit(X, Y), "layer 'hidden'", "params['W']", "float64", "float32")


@case
def param_fortran_ordered():
    model = mlp()
    model.layers[0].params["W"] = np.asfortranarray(model.layers[0].params["W"])
    refuses(lambda: model.fit(X, Y), "layer 'hidden'", "params['W']", "contiguous")


@case
def param_strided_view():
    model = mlp()
    wide = np.zeros((4, 16), np.float32)
    model.layers[0].params["W"] = wide[:, ::2]
    refuses(lambda: model.predict(X), "layer 'hidden'", "params['W']", "contiguous")


@case
def param_scalar():
    model = mlp()
    model.layers[0].params["b"] = 0.0
    refuses(lambda: model.fit(X, Y), "layer 'hidden'", "params['b']", "float")


@case
def param_integer_array():
    model = mlp()
    model.layers[1].params["W"] = np.zeros((8, 3), np.int32)
    refuses(lambda: model.predict(X), "layer 'out'", "params['W']", "int32")


@case
def param_deleted():
    model = mlp()
    del model.layers[1].params["b"]
    refuses(lambda: model.fit(X, Y), "layer 'out'", "params['b']", "missing")


@case
def gradient_buffer_of_wrong_shape():
    model = mlp()
    model.layers[0].grads["W"] = np.zeros((2, 2), np.float32)
    refuses(lambda: model.fit(X, Y), "layer 'hidden'", "grads['W']", "(2, 2)")


@case
def conv_param_of_wrong_shape():
    model = nnx.Sequential([layers.Conv2D(4, 3, name="conv"), layers.Flatten(),
                            layers.Dense(2, activation="softmax")], input_shape=(1, 6, 6))
    model.compile("adam", "categorical_crossentropy")
    model.layers[0].params["W"] = np.zeros((4, 2, 3, 3), np.float32)
    x = RNG.standard_normal((8, 1, 6, 6)).astype(np.float32)
    refuses(lambda: model.fit(x, np.arange(8) % 2), "layer 'conv'", "params['W']",
            "(4, 2, 3, 3)")


@case
def lstm_param_of_wrong_shape():
    model = nnx.Sequential([layers.LSTM(5, name="lstm"), layers.Dense(2)], input_shape=(6, 3))
    model.compile("adam", "mse")
    model.layers[0].params["W_hh"] = np.zeros((20, 3), np.float32)
    refuses(lambda: model.predict(np.zeros((4, 6, 3))), "layer 'lstm'", "params['W_hh']")


@case
def batch_norm_state_of_wrong_shape():
    model = nnx.Sequential([layers.Dense(6), layers.BatchNormalization(name="bn")],
                           input_shape=(4,))
    model.layers[1].state["running_mean"] = np.zeros(2, np.float32)
    refuses(lambda: model.predict(X), "layer 'bn'", "state['running_mean']", "(2,)")


@case
def embedding_param_of_wrong_shape():
    model = nnx.Sequential([layers.Embedding(10, 4, name="emb"),
                            layers.SequencePooling(), layers.Dense(2)], input_shape=(5,))
    model.layers[0].params["W"] = np.zeros((3, 4), np.float32)
    refuses(lambda: model.predict(np.full((2, 5), 9)), "layer 'emb'", "params['W']")


@case
def transformer_part_param_of_wrong_shape():
    model = nnx.Sequential([layers.TransformerEncoderBlock(2, 8, name="block"),
                            layers.SequencePooling(), layers.Dense(2)], input_shape=(5, 4))
    model.layers[0].params["attention.W_q"] = np.zeros((4, 2), np.float32)
    refuses(lambda: model.predict(np.zeros((2, 5, 4))), "layer 'block'",
            "params['attention.W_q']")


@case
def bidirectional_param_of_wrong_shape():
    model = nnx.Sequential([layers.Bidirectional({"type": "gru", "units": 3}, name="bi"),
                            layers.Dense(2)], input_shape=(6, 2))
    model.compile("adam", "mse")
    model.layers[0].params["forward.W_ih"] = np.zeros((9, 5), np.float32)
    refuses(lambda: model.fit(np.zeros((4, 6, 2)), np.zeros((4, 2))), "layer 'bi'",
            "params['forward.W_ih']")


@case
def layer_cast_to_another_dtype_than_the_model():
    model = mlp()
    model.layers[0].cast("float64")
    refuses(lambda: model.fit(X, Y), "layer 'hidden'", "float64", "float32")


@case
def params_dict_replaced_by_an_empty_one():
    model = mlp()
    model.layers[0].params = {}
    refuses(lambda: model.predict(X), "layer 'hidden'", "params['W']", "missing")


@case
def positional_embedding_param_of_wrong_shape():
    model = nnx.Sequential([layers.PositionalEmbedding(name="pos"), layers.SequencePooling(),
                            layers.Dense(2)], input_shape=(5, 4))
    model.layers[0].params["W"] = np.zeros((3, 4), np.float32)
    refuses(lambda: model.predict(np.zeros((2, 5, 4))), "layer 'pos'", "params['W']")


@case
def graph_param_of_wrong_shape():
    x = nnx.Input((4,))
    shared = layers.Dense(4, activation="tanh", name="shared")
    out = layers.Dense(2, name="out")(layers.Add()([shared(x), shared(shared(x))]))
    model = nnx.Model(x, out).compile("adam", "mse")
    shared.params["W"] = np.zeros((4, 6), np.float32)
    refuses(lambda: model.fit(X, np.zeros((64, 2))), "layer 'shared'", "params['W']", "(4, 6)")


# -- layers shared by models of different widths ---------------------------------------------
@case
def layer_shared_by_sequentials_of_different_widths():
    shared = layers.Dense(4, name="shared")
    first = nnx.Sequential([layers.Dense(8), shared], input_shape=(5,))
    refuses(lambda: nnx.Sequential([layers.Dense(6), shared], input_shape=(5,)),
            "layer 'shared'", "(8,)", "(6,)")
    first.compile("sgd", "mse")
    first.fit(np.ones((4, 5)), np.ones((4, 4)))


@case
def layer_shared_by_sequential_and_graph_of_different_widths():
    shared = layers.Dense(4, name="shared")
    nnx.Sequential([shared], input_shape=(8,))
    refuses(lambda: shared(nnx.Input((5,))), "layer 'shared'", "(8,)", "(5,)")


@case
def layer_shared_by_graphs_of_different_widths():
    shared = layers.Dense(4, name="shared")
    nnx.Model(x := nnx.Input((8,)), shared(x))
    refuses(lambda: shared(nnx.Input((5,))), "layer 'shared'", "(8,)", "(5,)")


@case
def layer_shared_by_models_of_different_dtypes():
    shared = layers.Dense(4, name="shared")
    nnx.Sequential([shared], input_shape=(8,))
    refuses(lambda: nnx.Sequential([shared], input_shape=(8,), dtype="float64"),
            "layer 'shared'", "float32", "float64")


@case
def layer_rebuilt_for_another_width_under_a_model():
    model = mlp()
    model.layers[0].build((7,))
    refuses(lambda: model.predict(X), "layer 'hidden'", "(7,)", "(4,)")


@case
def layer_shared_by_two_models_of_same_width():
    """Sharing a layer (same width) shares its weights and keeps its trained values."""
    hidden = layers.Dense(8, activation="relu", name="hidden")
    first = nnx.Sequential([hidden, layers.Dense(3, activation="softmax")], input_shape=(4,))
    first.compile("adam", "categorical_crossentropy").fit(X, Y, epochs=2)
    trained = hidden.params["W"].copy()
    second = nnx.Sequential([hidden, layers.Dense(2)], input_shape=(4,))
    np.testing.assert_array_equal(second.layers[0].params["W"], trained)


# -- layers called directly ------------------------------------------------------------------
def built(layer, shape):
    layer.build(shape, np.random.default_rng(0))
    return layer


def built_dense():
    return built(layers.Dense(3, activation="tanh", name="dense"), (4,))


def backward_refused(layer, x_shape, wrong, right):
    """After a training forward on inputs of `x_shape`, a gradient of shape `wrong` (the
    output has shape `right`) is refused."""
    layer.forward(np.ones(x_shape, np.float32), training=True)
    refuses(lambda: layer.backward(np.ones(wrong, np.float32)), f"layer {layer.name!r}",
            str(wrong), str(right))


@case
def dense_forward_of_wrong_width():
    refuses(lambda: built_dense().forward(np.ones((2, 7), np.float32)), "layer 'dense'",
            "(batch, 4)", "(2, 7)")


@case
def dense_forward_without_batch_axis():
    refuses(lambda: built_dense().forward(np.ones(4, np.float32)), "layer 'dense'", "(4,)")


@case
def dense_forward_of_a_scalar():
    refuses(lambda: built_dense().forward(1.0), "layer 'dense'")


@case
def dense_forward_before_build():
    refuses(lambda: layers.Dense(3, name="dense").forward(np.ones((2, 4))), "layer 'dense'",
            "not built")


@case
def dense_forward_other_layouts_give_the_same_answer():
    layer = built_dense()
    base = RNG.standard_normal((6, 8)).astype(np.float32)
    expected = layer.forward(np.ascontiguousarray(base[:, ::2]))
    for x in (base[:, ::2], np.asfortranarray(base[:, ::2]), base[:, ::2].astype(np.float64),
              base[:, ::2].tolist()):
        np.testing.assert_array_equal(layer.forward(x), expected)


@case
def dense_backward_before_forward():
    refuses(lambda: built_dense().backward(np.ones((2, 3), np.float32)), "layer 'dense'",
            "forward")


@case
def dense_backward_of_wrong_shape():
    backward_refused(built_dense(), (2, 4), (5, 3), (2, 3))


@case
def dense_backward_other_layouts_give_the_same_answer():
    layer = built_dense()
    x = RNG.standard_normal((5, 4)).astype(np.float32)
    dy = RNG.standard_normal((3, 5)).astype(np.float32)
    layer.forward(x, training=True)
    expected, dW = layer.backward(dy.T.copy()), layer.grads["W"].copy()
    for grad in (dy.T, dy.T.astype(np.float64)):
        layer.forward(x, training=True)
        np.testing.assert_array_equal(layer.backward(grad), expected)
        np.testing.assert_array_equal(layer.grads["W"], dW)


@case
def dense_param_replaced_between_forward_and_backward():
    layer = built_dense()
    layer.forward(np.ones((2, 4), np.float32), training=True)
    layer.params["W"] = np.zeros((9, 3), np.float32)
    refuses(lambda: layer.backward(np.ones((2, 3), np.float32)), "layer 'dense'",
            "params['W']", "(9, 3)")


@case
def backward_after_an_inference_forward_of_another_batch():
    """An inference forward in between (a predict while training) leaves backward's caches."""
    make = {"dense": lambda: built_dense(),
            "conv": lambda: built(layers.Conv1D(2, 3, activation="gelu"), (2, 9)),
            "pool": lambda: built(layers.MaxPool1D(2), (2, 8)),
            "activation": lambda: built(layers.Activation("gelu"), (4,))}
    for name, build in make.items():
        plain, interrupted = build(), build()
        x = RNG.standard_normal((5,) + plain.input_shape).astype(np.float32)
        other = RNG.standard_normal((9,) + plain.input_shape).astype(np.float32)
        dy = RNG.standard_normal((5,) + plain.output_shape).astype(np.float32)
        plain.forward(x, training=True)
        interrupted.forward(x, training=True)
        interrupted.forward(other)
        np.testing.assert_array_equal(interrupted.backward(dy), plain.backward(dy), err_msg=name)


@case
def conv_backward_of_wrong_shape():
    backward_refused(built(layers.Conv2D(2, 3, name="conv"), (1, 5, 5)),
                     (2, 1, 5, 5), (2, 2, 5, 5), (2, 2, 3, 3))


@case
def conv_forward_other_layouts_give_the_same_answer():
    layer = layers.Conv1D(2, 3, name="conv")
    layer.build((2, 9), np.random.default_rng(0))
    x = RNG.standard_normal((9, 2, 3)).astype(np.float32).transpose(2, 1, 0)  # strided
    expected = layer.forward(np.ascontiguousarray(x))
    np.testing.assert_array_equal(layer.forward(x), expected)
    np.testing.assert_array_equal(layer.forward(np.asfortranarray(x)), expected)


@case
def lstm_backward_of_wrong_shape():
    backward_refused(built(layers.LSTM(4, return_sequences=True, name="lstm"), (6, 3)),
                     (2, 6, 3), (2, 5, 4), (2, 6, 4))


@case
def pool_backward_of_wrong_shape():
    backward_refused(built(layers.MaxPool2D(2, name="pool"), (1, 4, 4)),
                     (2, 1, 4, 4), (3, 1, 2, 2), (2, 1, 2, 2))


@case
def batch_norm_backward_of_wrong_shape():
    backward_refused(built(layers.BatchNormalization(name="bn"), (3,)), (4, 3), (4, 5), (4, 3))


@case
def layer_norm_backward_of_wrong_shape():
    backward_refused(built(layers.LayerNormalization(name="ln"), (3, 4)),
                     (2, 3, 4), (2, 3, 8), (2, 3, 4))


@case
def embedding_backward_of_wrong_shape():
    backward_refused(built(layers.Embedding(10, 4, name="emb"), (5,)), (2, 5), (2, 5, 7), (2, 5, 4))


@case
def attention_backward_of_wrong_shape():
    backward_refused(built(layers.MultiHeadAttention(2, name="mha"), (5, 4)),
                     (2, 5, 4), (2, 3, 4), (2, 5, 4))


@case
def gru_forward_of_wrong_dtype_gives_the_same_answer():
    layer = layers.GRU(3, name="gru")
    layer.build((4, 2), np.random.default_rng(0))
    x = RNG.standard_normal((2, 4, 2))
    np.testing.assert_array_equal(layer.forward(x), layer.forward(x.astype(np.float32)))


# -- losses called directly ---------------------------------------------------------------
@case
def loss_labels_out_of_range():
    loss = losses.get("categorical_crossentropy")
    refuses(lambda: loss.forward(np.full((4, 3), 1 / 3), np.array([0, 1, 2, 7])),
            "categorical_crossentropy", "0..2", "7")


@case
def loss_labels_of_wrong_length():
    loss = losses.get("categorical_crossentropy")
    refuses(lambda: loss.forward(np.full((4, 3), 1 / 3), np.array([0, 1])), "4 integers")


@case
def loss_targets_of_wrong_shape():
    refuses(lambda: losses.get("mse").forward(np.zeros((4, 3)), np.zeros((4, 2))), "mse",
            "(4, 2)", "(4, 3)")


@case
def loss_backward_before_forward():
    refuses(lambda: losses.get("huber").backward(), "huber", "forward")


@case
def loss_of_other_layouts_gives_the_same_answer():
    pred = RNG.uniform(0.1, 0.9, (6, 3))
    target = RNG.uniform(0, 1, (6, 3))
    loss = losses.get("binary_crossentropy")
    expected = loss.forward(pred, target)
    assert loss.forward(np.asfortranarray(pred), np.repeat(target, 2, axis=1)[:, ::2]) == expected
    assert loss.forward(pred.tolist(), np.asfortranarray(target)) == expected


# -- the model's entry points with odd inputs ------------------------------------------------
@case
def predict_and_evaluate_of_other_layouts_give_the_same_answers():
    model = mlp()
    base = RNG.standard_normal((10, 8)).astype(np.float32)
    strided, y = base[:, ::2], np.arange(10) % 3
    contiguous = np.ascontiguousarray(strided)
    for x in (strided, np.asfortranarray(strided), strided.astype(np.float64)):
        np.testing.assert_array_equal(model.predict(x), model.predict(contiguous))
        assert model.evaluate(x, y) == model.evaluate(contiguous, y)


@case
def fit_of_fortran_ordered_inputs_trains_the_same():
    c_model, f_model = mlp(), mlp()
    c_model.fit(X, Y, epochs=2)
    f_model.fit(np.asfortranarray(X), Y[::-1][::-1], epochs=2)
    weights_equal(c_model, f_model)


@case
def train_step_of_strided_inputs_gives_the_same_answer():
    c_model, s_model = mlp(), mlp()
    base = np.repeat(X[:16], 2, axis=1)
    loss_c, out_c = c_model.train_step(np.ascontiguousarray(base[:, ::2]), Y[:16])
    loss_s, out_s = s_model.train_step(base[:, ::2], Y[:16])
    assert loss_c == loss_s
    np.testing.assert_array_equal(out_c, out_s)
    weights_equal(c_model, s_model)


@case
def train_step_of_wrong_width():
    refuses(lambda: mlp().train_step(np.ones((4, 6)), np.zeros(4)), "(batch, 4)", "(4, 6)")


@case
def predict_of_a_scalar():
    refuses(lambda: mlp().predict(3.0), "batch axis")


@case
def fit_with_scalar_targets():
    refuses(lambda: mlp().fit(X, 2), "targets")


@case
def set_weights_of_wrong_shape():
    model = mlp()
    weights = model.get_weights()
    weights[0]["W"] = np.zeros((3, 3))
    refuses(lambda: model.set_weights(weights), "layer 'hidden'", "'W'", "(3, 3)", "(4, 8)")


@case
def set_weights_of_wrong_length():
    model = mlp()
    refuses(lambda: model.set_weights(model.get_weights()[:1]), "2 layers", "1")


@case
def set_weights_with_unknown_key():
    model = mlp()
    weights = model.get_weights()
    weights[1]["kernel"] = weights[1].pop("W")
    refuses(lambda: model.set_weights(weights), "layer 'out'", "'kernel'")


@case
def set_weights_of_a_scalar():
    refuses(lambda: mlp().set_weights(5), "list")


@case
def set_weights_from_float64_values():
    model, other = mlp(), mlp(seed=4)
    weights = [{k: v.astype(np.float64) for k, v in w.items()} for w in other.get_weights()]
    model.set_weights(weights)
    weights_equal(model, other)
    model.fit(X, Y)


@case
def pool_rebuilt_for_another_size_during_fit():
    """Between two steps (a batch callback) a parameter-free layer is rebuilt: the next step
    notices before its kernel sees the old sizes."""
    model = nnx.Sequential([layers.Conv2D(2, 3, padding=1), layers.MaxPool2D(2, name="pool"),
                            layers.Flatten(), layers.Dense(2)], input_shape=(1, 4, 4))
    model.compile("sgd", "mse")
    x = RNG.standard_normal((8, 1, 4, 4)).astype(np.float32)
    rebuild = LambdaCallback(on_batch_end=lambda batch, logs: model.layers[1].build((2, 12, 12)))
    refuses(lambda: model.fit(x, np.zeros((8, 2)), batch_size=4, callbacks=[rebuild]),
            "layer 'pool'", "(2, 12, 12)", "(2, 4, 4)")


@case
def param_replaced_during_fit():
    model = mlp()

    def replace(batch, logs):
        model.layers[1].params["W"] = np.zeros((8, 2), np.float32)

    callback = LambdaCallback(on_batch_end=replace)
    refuses(lambda: model.fit(X, Y, batch_size=16, callbacks=[callback]), "layer 'out'",
            "params['W']", "(8, 2)")


@case
def layer_rebuilt_with_more_units_under_a_model():
    model = mlp()
    model.layers[1].units = 5
    model.layers[1].build((8,))
    refuses(lambda: model.fit(X, Y), "layer 'out'", "(5,)", "(3,)")
