"""Fixtures of the converter tests (helpers live in tests/convert_checks.py)."""
import pytest

from convert_checks import check_model_bytes, keras_outputs, random_inputs_for


@pytest.fixture
def assert_converts():
    """assert_converts(keras_model, inputs=None, rtol=1e-4, **convert_kwargs) -> tflite bytes."""
    import edgerun

    def run(model, inputs=None, rtol=1e-4, seed=0, **kw):
        inputs = random_inputs_for(model, seed) if inputs is None else inputs
        ref = keras_outputs(model, inputs)
        data = edgerun.convert(model, **kw)
        check_model_bytes(data, inputs, ref, rtol)
        return data

    return run
