"""Fixtures of the converter tests (helpers live in tests/convert_checks.py)."""
import pytest
from convert_checks import check_model_bytes, keras_outputs, random_inputs_for


@pytest.fixture(autouse=True)
def _verify_ir_after_every_pass(monkeypatch):
    """Every run_passes in the converter tests checks the IR (converter/verify.py) before the passes and after
    each one, so a pass or frontend that breaks the graph fails here, naming the pass and the op."""
    from edgerun.converter import passes

    monkeypatch.setattr(passes, "VERIFY", True)


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
