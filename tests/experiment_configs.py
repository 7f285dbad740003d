"""The tiny moons experiment that the CLI, experiment and report tests run: a few seconds of
training, as a config dict to write out or pass on."""


def tiny_moons(name="tiny", seed=0, epochs=3):
    return {
        "name": name,
        "seed": seed,
        "data": {"dataset": "moons", "n_samples": 200},
        "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"},
                             {"type": "dense", "units": 1, "activation": "sigmoid"}]},
        "train": {"loss": "binary_crossentropy", "optimizer": {"type": "adam", "lr": 0.05},
                  "epochs": epochs, "batch_size": 16, "metrics": ["accuracy"]},
    }
