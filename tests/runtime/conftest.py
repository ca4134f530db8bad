import pytest


@pytest.fixture(scope="session")
def dense_model():
    """A small float model from TensorFlow's converter: Dense -> ReLU -> Dense -> Softmax."""
    import keras

    from oracle import tf_convert

    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((6,), batch_size=1, name="x"), keras.layers.Dense(5, activation="relu"),
                          keras.layers.Dense(3), keras.layers.Softmax()])
    return tf_convert(m)
