"""edgerun.converter: Keras / SavedModel / ONNX models -> TFLite flatbuffers (float32, float16, quantized).

    import edgerun
    tflite_bytes = edgerun.convert(keras_model)                      # or a .keras/.h5/.onnx path, a SavedModel dir
    tflite_bytes = edgerun.convert("model.keras", quantize="float16")
"""
from edgerun.converter.api import convert, convert_graph, load

__all__ = ["convert", "convert_graph", "load"]
