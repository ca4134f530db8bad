"""Train the bundled example: a small CNN on scikit-learn's handwritten digits (8x8 grey images, 10 classes).

    python examples/digits/train.py      # rewrites digits_cnn.keras and digits_data.npz next to this file

The data ships inside scikit-learn (no download). A fixed split keeps the committed files reproducible:
1197 training images, 200 calibration images (for int8 quantization) and 400 test images.
"""
from __future__ import annotations

import os
import pathlib

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
MODEL = HERE / "digits_cnn.keras"
DATA = HERE / "digits_data.npz"


def load_split(seed: int = 0):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[..., None]  # (1797, 8, 8, 1) in [0, 1]
    y = d.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    return (x[:1197], y[:1197]), (x[1197:1397], y[1197:1397]), (x[1397:], y[1397:])


def build():
    import keras

    return keras.Sequential([
        keras.Input((8, 8, 1), name="image"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax", name="probs"),
    ], name="digits_cnn")


def main():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    keras.utils.set_random_seed(0)
    (xtr, ytr), (xcal, ycal), (xte, yte) = load_split()
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(xtr, ytr, epochs=40, batch_size=32, validation_data=(xcal, ycal), verbose=2)
    _, acc = model.evaluate(xte, yte, verbose=0)
    print(f"test accuracy {acc:.4f}")
    plain = build()  # the same network without optimizer state: a smaller file that any backend loads
    plain.set_weights(model.get_weights())
    plain.save(MODEL)
    np.savez_compressed(DATA, calib_x=xcal, calib_y=ycal, test_x=xte, test_y=yte)
    print(f"wrote {MODEL.name} ({MODEL.stat().st_size} bytes) and {DATA.name}")


if __name__ == "__main__":
    main()
