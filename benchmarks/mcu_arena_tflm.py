"""TFLite Micro's arena for the microcontroller reference models (tests/platforms/mcu_models.py), beside the
published figures: the number edgerun's static arena for a device is measured against.

    python benchmarks/mcu_arena_tflm.py
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests"), os.path.join(HERE, "..", "tests", "platforms")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import mcu_models as mm  # noqa: E402

MODELS = [
    ("kws_cnn_int8", mm.kws_cnn_int8, mm.PUBLISHED_TFLM_ARENA["kws_cnn_int8"]),
    ("mobilenet_v1_025_96_int8 (2 classes)", lambda: mm.mobilenet_v1_025_96_int8(2),
     mm.PUBLISHED_TFLM_ARENA["mobilenet_v1_025_96_int8"]),
    ("mobilenet_v1_025_96_int8 (1000 classes)", lambda: mm.mobilenet_v1_025_96_int8(1000), None),
    ("streaming float", lambda: mm.streaming_model(None), None),
    ("streaming int8", lambda: mm.streaming_model("int8"), None),
    ("streaming int8_float_var", lambda: mm.streaming_model("int8_float_var"), None),
]


def main():
    import importlib.metadata

    print(f"tflite-micro {importlib.metadata.version('tflite-micro')}")
    print(f"{'model':42s} {'file B':>9s} {'TFLM arena B':>13s} {'published B':>12s}")
    for name, make, published in MODELS:
        model = make()
        arena = mm.tflm_arena_bytes(model)
        pub = f"{published:,}" if published else "-"
        print(f"{name:42s} {len(model):>9,} {arena:>13,} {pub:>12s}")
    wake_word = mm.PUBLISHED_TFLM_ARENA["streaming wake-word (production)"]
    print(f"(published for a production streaming wake-word model: {wake_word:,} B)")


if __name__ == "__main__":
    main()
