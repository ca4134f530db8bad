"""Real ONNX models as public packages ship them (issue 10, "How it is checked"), read from the pinned wheels
(tests/packaged_models.py; `make test-models` fetches them):

- rapidocr-onnxruntime 1.4.4, PaddleOCR's models: the PP-OCRv4 text detector (DBNet: MobileNetV3-style
  backbone with hard-sigmoid squeeze-excite, an FPN of nearest Resizes and a ConvTranspose head), the PP-OCRv4
  text recognizer (SVTR: MatMul/Softmax attention, LayerNorm spelled ReduceMean/Pow/Sqrt) and the mobile v2.0
  direction classifier (input declared [-1, 3, ?, ?], output [-1, 2]);
- silero-vad 6.2.3's voice-activity models (STFT convolution, LSTM decoder, If on the sample rate).

Every input shape is fixed by option (convert(input_shapes=...), constant_inputs=...), none edited in the file.
Inputs look like the real thing: lines of scikit-learn's handwritten digits on a white page, normalized as
RapidOCR does, for the OCR models; a noisy voiced tone streamed chunk by chunk, the state fed back, for the
VAD. edgerun and LiteRT run the converted model and must match onnxruntime within 1e-3 of each output's scale."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from oracle import edgerun_run, litert_run
from packaged_models import wheel_member

import edgerun


def _compare(tfl, onnx_bytes, feeds, inputs):
    """edgerun and LiteRT on the flatbuffer vs onnxruntime on the file; returns onnxruntime's outputs."""
    ref = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"]).run(None, feeds)
    ins = [feeds[n] for n in inputs]
    for who, got in (("edgerun", edgerun_run(tfl, ins)), ("LiteRT", litert_run(tfl, ins))):
        assert len(got) == len(ref), who
        for j, (a, b) in enumerate(zip(got, ref)):
            assert a.shape == b.shape, f"{who} output {j}: shape {a.shape}, onnxruntime {b.shape}"
            scale = max(float(np.abs(b).max()), 1e-6)
            err = float(np.abs(a.astype(np.float64) - b).max())
            assert err <= 1e-3 * scale, f"{who} output {j}: max error {err:.3g} at scale {scale:.3g}"
    return ref


# -- OCR: lines of handwritten digits ------------------------------------------------------------------------
def _page(h, w, tops, k, seed=0):
    """A white RGB page (0..255, [3, h, w]) with a line of scikit-learn's 8x8 handwritten digits, each
    upsampled k times, at each row in `tops`."""
    from sklearn.datasets import load_digits

    digits = load_digits().images  # [1797, 8, 8] in 0..16
    rng = np.random.default_rng(seed)
    page = np.full((h, w), 255.0)
    side = 8 * k
    for top in tops:
        for c in range((w - 8) // side):
            page[top:top + side, 4 + c * side:4 + (c + 1) * side] -= np.kron(digits[rng.integers(len(digits))],
                                                                             np.ones((k, k))) * (230 / 16)
    return np.repeat(page[None], 3, 0)


def _ocr(member):
    return wheel_member("rapidocr-onnxruntime", "rapidocr_onnxruntime/models/" + member)


def test_ppocr_v4_text_detector():
    """DBNet on a 320x320 page of 7 digit lines: ImageNet mean/std normalization as RapidOCR's detector does;
    the probability map marks text (>= 5% of pixels above 0.3, as onnxruntime has it)."""
    data = _ocr("ch_PP-OCRv4_det_infer.onnx")
    mean, std = np.array([0.485, 0.456, 0.406])[:, None, None], np.array([0.229, 0.224, 0.225])[:, None, None]
    x = ((_page(320, 320, range(16, 296, 40), 3) / 255 - mean) / std)[None].astype(np.float32)
    tfl = edgerun.convert(onnx.load_from_string(data), input_shapes={"x": x.shape})
    (prob,) = _compare(tfl, data, {"x": x}, ["x"])
    assert prob.shape == (1, 1, 320, 320) and float(np.mean(prob > 0.3)) >= 0.05


def test_ppocr_v4_text_recognizer():
    """SVTR on 48x320 lines of 9 digits, (x/255 - 0.5)/0.5, the batch left dynamic and run with 2 lines: the
    40 x 6625 character probabilities, and the greedy (CTC) reading is the same in edgerun as in onnxruntime."""
    data = _ocr("ch_PP-OCRv4_rec_infer.onnx")
    x = ((np.stack([_page(48, 320, [8], 4, seed=s) for s in (0, 1)]) / 255 - 0.5) / 0.5).astype(np.float32)
    tfl = edgerun.convert(onnx.load_from_string(data), input_shapes={"x": (-1, 3, 48, 320)})
    (ref,) = _compare(tfl, data, {"x": x}, ["x"])
    assert ref.shape == (2, 40, 6625) and min(np.count_nonzero(r.argmax(-1)) for r in ref) >= 5  # it reads
    (ours,) = edgerun_run(tfl, [x])
    np.testing.assert_array_equal(ours.argmax(-1), ref.argmax(-1))


def test_ppocr_mobile_direction_classifier_with_declared_minus_one():
    """The classifier whose file declares [-1, 3, ?, ?] -> [-1, 2]: fixed to 48x192 lines by input_shapes with
    the batch left dynamic (-1 in shape_signature; RapidOCR classifies lines in batches), its 18 spelled-out
    hard-swishes one HARD_SWISH each: a batch of an upright line, the same line turned 180 degrees and two more
    lines, classified [0, 1, 0, 0]. Left unfixed, the conversion error names the input and the option."""
    data = _ocr("ch_ppocr_mobile_v2.0_cls_infer.onnx")
    with pytest.raises(edgerun.ConversionError, match=r"input 'x' \[-1, 3, '\?', '\?'\] has dynamic dimensions.*"
                                                      r"input_shapes"):
        edgerun.convert(data)
    tfl = edgerun.convert(data, input_shapes={"x": (-1, 3, 48, 192)})  # the bytes as read from the wheel
    it = edgerun.Interpreter(model_content=tfl)
    assert list(it.get_input_details()[0]["shape_signature"]) == [-1, 3, 48, 192]
    ops = [o["op_name"] for o in it._get_ops_details()]
    assert ops.count("HARD_SWISH") == 18 and "DIV" not in ops  # its x * Clip(x + 3, 0, 6) / 6, fused
    lines = np.stack([_page(48, 192, [8], 4, seed=s) for s in (0, 0, 1, 2)])
    lines[1] = lines[1][:, ::-1, ::-1]
    x = ((lines / 255 - 0.5) / 0.5).astype(np.float32)
    (ref,) = _compare(tfl, data, {"x": x}, ["x"])
    assert ref.shape == (4, 2) and list(ref.argmax(1)) == [0, 1, 0, 0]


def test_ppocr_direction_classifier_int8():
    """quantize="int8" on the real classifier, calibrated on 16 digit lines (8 of them turned): edgerun's and
    LiteRT's outputs are identical, and on 8 other lines (4 turned) the int8 classes are the float ones."""
    from oracle import litert_run

    data = _ocr("ch_ppocr_mobile_v2.0_cls_infer.onnx")

    def lines(seeds):
        out = np.stack([_page(48, 192, [8], 4, seed=s) for s in seeds])
        out[1::2] = out[1::2, :, ::-1, ::-1]
        return ((out / 255 - 0.5) / 0.5).astype(np.float32)

    calib = lines(range(10, 26))
    tfl = edgerun.convert(data, input_shapes={"x": (1, 3, 48, 192)}, quantize="int8",
                          representative_data=[[c[None]] for c in calib])
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for i, xi in enumerate(lines(range(30, 38))):
        (ours,), (theirs,) = edgerun_run(tfl, [xi[None]]), litert_run(tfl, [xi[None]])
        np.testing.assert_array_equal(ours, theirs)
        want = sess.run(None, {"x": xi[None]})[0]
        assert int(ours.argmax()) == int(want.argmax()), (i, ours, want)


# -- voice activity ------------------------------------------------------------------------------------------
def _audio(n, rows=1, seed=0):
    """A 220 Hz voiced tone with a 3 Hz envelope and noise, 16 kHz, [rows, n] float32."""
    t = np.arange(n * rows) / 16000
    s = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    s += 0.05 * np.random.default_rng(seed).normal(size=t.shape)
    return s.reshape(rows, n).astype(np.float32)


def _vad(member):
    return wheel_member("silero-vad", "silero_vad/data/" + member)


@pytest.mark.parametrize("member,chunk,sr", [
    ("silero_vad.onnx", 512, 16000),            # the default model; sr fixed by option folds its top-level If
    ("silero_vad_16k_op15.onnx", 512, 16000),   # opset 15, nested Ifs on sr and on shapes; sr fixed by option
    ("silero_vad_half.onnx", 512, None),        # 16 kHz only, no sr input
    ("silero_vad_openvino_16k.onnx", 576, None),  # fixed [1, 576] input (64 samples of context), ONNX LSTM
])
def test_silero_vad_streaming(member, chunk, sr):
    """Three chunks streamed, stateN fed back as state, each step against onnxruntime."""
    data = _vad(member)
    const = {"sr": sr} if sr else {}
    tfl = edgerun.convert(onnx.load_from_string(data), input_shapes={"input": (1, chunk), "state": (2, 1, 128)}, constant_inputs=const)
    audio = _audio(chunk * 3)
    state = np.zeros((2, 1, 128), np.float32)
    for i in range(3):
        feeds = {"input": audio[:, i * chunk:(i + 1) * chunk], "state": state}
        _, state = _compare(tfl, data, {**feeds, **{k: np.array(v, np.int64) for k, v in const.items()}},
                            ["input", "state"])


@pytest.mark.parametrize("quantize", ["int8", "int16x8"])
def test_silero_vad_quantized_bit_exact_with_litert(quantize):
    """The opset-15 VAD (sr fixed) quantized, calibrated on 4 chunks: edgerun's outputs are LiteRT's, bit for
    bit, on a fifth; the speech probability stays within 0.05 of onnxruntime's float one."""
    from oracle import litert_run

    data = _vad("silero_vad_16k_op15.onnx")
    audio = _audio(512 * 5)
    state = np.zeros((2, 1, 128), np.float32)
    chunks = [[audio[:, i * 512:(i + 1) * 512], state] for i in range(5)]
    tfl = edgerun.convert(data, input_shapes={"input": (1, 512), "state": (2, 1, 128)},
                          constant_inputs={"sr": 16000}, quantize=quantize, representative_data=chunks[:4])
    ours, theirs = edgerun_run(tfl, chunks[4]), litert_run(tfl, chunks[4])
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    want = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
        None, {"input": chunks[4][0], "state": state, "sr": np.array(16000, np.int64)})[0]
    assert abs(float(ours[0].ravel()[0]) - float(want.ravel()[0])) <= 0.05, (ours[0], want)


def test_silero_vad_sequence_lstm_batch_of_frames():
    """The sequence variant: 4 frames of 576 samples through one LSTM call, h and c carried explicitly."""
    data = _vad("silero_vad_16k_sequence.onnx")
    tfl = edgerun.convert(onnx.load_from_string(data), input_shapes={"input": (4, 576)})
    rng = np.random.default_rng(3)
    h, c = ((rng.normal(size=(1, 1, 128)) * 0.1).astype(np.float32) for _ in range(2))
    (probs, _, _) = _compare(tfl, data, {"input": _audio(576, 4), "h": h, "c": c}, ["input", "h", "c"])
    assert probs.shape == (4,)


def test_silero_vad_op18_sample_rate_at_run_time():
    """The opset-18 export with sr left a run-time input: one conversion (a TFLite IF of the 16 kHz and 8 kHz
    networks) runs both rates on the same 512-sample chunk as onnxruntime does."""
    data = _vad("silero_vad_op18_ifless.onnx")
    tfl = edgerun.convert(onnx.load_from_string(data), input_shapes={"input": (1, 512), "state": (2, 1, 128)})
    state = (np.random.default_rng(4).normal(size=(2, 1, 128)) * 0.1).astype(np.float32)
    for sr in (16000, 8000):
        _compare(tfl, data, {"input": _audio(512), "sr": np.array(sr, np.int64), "state": state},
                 ["input", "sr", "state"])
