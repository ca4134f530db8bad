package ai.edgerun;

import java.io.File;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;

/**
 * Runs a prepared edgerun plan file (made on the desktop with
 * {@code edgerun compile MODEL --target android-arm64 --format plan -o model.plan}) through the C library.
 *
 * <pre>{@code
 * try (Interpreter it = new Interpreter(new File(context.getFilesDir(), "model.plan"))) {
 *   float[] x = new float[it.getInputTensor(0).numElements()];
 *   float[] y = new float[it.getOutputTensor(0).numElements()];
 *   it.run(x, y);
 * }
 * }</pre>
 *
 * Kotlin: {@code Interpreter(file).use { it.run(x, y) }}.
 *
 * <p>Inputs and outputs are passed as primitive arrays holding the tensor's elements flat, in row-major
 * order (float[] for FLOAT32, int[] for INT32/UINT32, byte[] for INT8/UINT8/BOOL, short[] for
 * INT16/UINT16/FLOAT16 bits, long[] for INT64/UINT64, double[] for FLOAT64), or as ByteBuffers in native byte order
 * (direct, or heap-backed) with exactly the tensor's bytes remaining; their position is left unchanged.
 * Anything else is an IllegalArgumentException naming the input or output. Failures of the C library are
 * {@link EdgerunException}s carrying its message.
 *
 * <p>One interpreter may be used from one thread at a time (its methods are synchronized); separate
 * interpreters share nothing and may run on separate threads. Variables (state of streaming models) carry
 * over between runs until {@link #resetVariableTensors()}.
 */
public final class Interpreter implements AutoCloseable {
  /** The native library's name: libedgerun_jni.so. */
  public static final String LIBRARY_NAME = "edgerun_jni";

  static {
    // -Dedgerun.jni.library=/abs/path/libedgerun_jni.so overrides the lookup on java.library.path.
    String path = System.getProperty("edgerun.jni.library");
    if (path != null && !path.isEmpty()) {
      System.load(path);
    } else {
      System.loadLibrary(LIBRARY_NAME);
    }
  }

  private long handle;
  private final Tensor[] inputs;
  private final Tensor[] outputs;

  /** Opens the plan file at {@code file}. */
  public Interpreter(File file) {
    this(nativeOpenFile(file.getPath()));
  }

  /** Opens the plan file at {@code path}. */
  public Interpreter(String path) {
    this(nativeOpenFile(path));
  }

  /** Opens a plan held in memory (copied: the bytes may be reused after the constructor returns). */
  public Interpreter(byte[] plan) {
    this(nativeOpenBytes(plan, 0, plan.length));
  }

  /**
   * Opens a plan held in a ByteBuffer: its remaining bytes (copied: the buffer may be reused after the
   * constructor returns; a memory-mapped file's MappedByteBuffer works).
   */
  public Interpreter(ByteBuffer plan) {
    this(openBuffer(plan));
  }

  private static long openBuffer(ByteBuffer plan) {
    if (plan.isDirect()) {
      return nativeOpenDirect(plan, plan.position(), plan.remaining());
    }
    if (plan.hasArray()) {
      return nativeOpenBytes(plan.array(), plan.arrayOffset() + plan.position(), plan.remaining());
    }
    byte[] copy = new byte[plan.remaining()];
    plan.duplicate().get(copy);
    return nativeOpenBytes(copy, 0, copy.length);
  }

  private Interpreter(long handle) {
    this.handle = handle;
    try {
      inputs = new Tensor[nativeCount(handle, false)];
      for (int i = 0; i < inputs.length; ++i) inputs[i] = nativeTensor(handle, false, i);
      outputs = new Tensor[nativeCount(handle, true)];
      for (int i = 0; i < outputs.length; ++i) outputs[i] = nativeTensor(handle, true, i);
    } catch (RuntimeException | Error e) {
      nativeClose(handle);
      this.handle = 0;
      throw e;
    }
  }

  // -- description -----------------------------------------------------------------------------------
  public int getInputCount() {
    return inputs.length;
  }

  public int getOutputCount() {
    return outputs.length;
  }

  public Tensor getInputTensor(int index) {
    checkIndex(index, inputs.length, "input");
    return inputs[index];
  }

  public Tensor getOutputTensor(int index) {
    checkIndex(index, outputs.length, "output");
    return outputs[index];
  }

  /** Position of the input named {@code name}; IllegalArgumentException when there is none. */
  public int getInputIndex(String name) {
    for (Tensor t : inputs) if (t.name().equals(name)) return t.index();
    throw new IllegalArgumentException("no input named '" + name + "'");
  }

  public int getOutputIndex(String name) {
    for (Tensor t : outputs) if (t.name().equals(name)) return t.index();
    throw new IllegalArgumentException("no output named '" + name + "'");
  }

  /** The target the plan was prepared for (e.g. "android-arm64"). */
  public synchronized String getTarget() {
    return nativeModelText(live(), 0);
  }

  /** The kernel set the plan was prepared for (e.g. "ref", "neon"). */
  public synchronized String getKernelSet() {
    return nativeModelText(live(), 1);
  }

  /** The C library's version. */
  public static String runtimeVersion() {
    return nativeRuntimeVersion();
  }

  // -- running ---------------------------------------------------------------------------------------
  /** One input, one output (the first; a model with more outputs leaves the others unread). */
  public void run(Object input, Object output) {
    Object[] ins = {input};
    java.util.HashMap<Integer, Object> outs = new java.util.HashMap<>();
    outs.put(0, output);
    runForMultipleInputsOutputs(ins, outs);
  }

  /**
   * Every input (in order: inputs.length must equal getInputCount()), one invoke, then the outputs present in
   * {@code outputs} (index to destination) are filled. All arguments are checked before anything is copied.
   */
  public synchronized void runForMultipleInputsOutputs(Object[] inputs, Map<Integer, ?> outputs) {
    long h = live();
    if (inputs == null) throw new IllegalArgumentException("inputs is null");
    if (outputs == null) throw new IllegalArgumentException("outputs is null");
    if (inputs.length != this.inputs.length) {
      throw new IllegalArgumentException(
          "the model has " + this.inputs.length + " input(s), " + inputs.length + " given");
    }
    for (int i = 0; i < inputs.length; ++i) check(this.inputs[i], inputs[i]);
    for (Map.Entry<Integer, ?> e : outputs.entrySet()) {
      Integer j = e.getKey();
      if (j == null || j < 0 || j >= this.outputs.length) {
        throw new IllegalArgumentException(
            "output index " + j + " out of range: the model has " + this.outputs.length + " output(s)");
      }
      check(this.outputs[j], e.getValue());
    }
    for (int i = 0; i < inputs.length; ++i) copy(h, this.inputs[i], inputs[i]);
    nativeInvoke(h);
    for (Map.Entry<Integer, ?> e : outputs.entrySet()) copy(h, this.outputs[e.getKey()], e.getValue());
  }

  /** Every variable back to its initial value: the next run starts a new stream. */
  public synchronized void resetVariableTensors() {
    nativeResetVariables(live());
  }

  /**
   * Threads for running. The C library runs 1 thread for now: other values throw an EdgerunException with
   * its message (never silently ignored).
   */
  public synchronized void setNumThreads(int threads) {
    nativeSetNumThreads(live(), threads);
  }

  /** Frees the model; further calls throw IllegalStateException. Closing twice is fine. */
  @Override
  public synchronized void close() {
    if (handle != 0) {
      nativeClose(handle);
      handle = 0;
    }
  }

  // -- checks and copies -----------------------------------------------------------------------------
  private long live() {
    if (handle == 0) throw new IllegalStateException("the interpreter is closed");
    return handle;
  }

  private static void checkIndex(int index, int count, String what) {
    if (index < 0 || index >= count) {
      throw new IllegalArgumentException(what + " index " + index + " out of range: the model has " + count);
    }
  }

  private static String describe(Tensor t) {
    return (t.isOutput() ? "output " : "input ") + t.index() + " '" + t.name() + "' (" + t.dataType() + ", "
        + t.numBytes() + " bytes)";
  }

  private static void check(Tensor t, Object data) {
    String what = describe(t);
    if (data == null) throw new IllegalArgumentException(what + ": null");
    if (data instanceof ByteBuffer) {
      ByteBuffer b = (ByteBuffer) data;
      if (t.isOutput() && b.isReadOnly()) throw new IllegalArgumentException(what + ": the ByteBuffer is read-only");
      if (!b.isDirect() && !b.hasArray()) {
        throw new IllegalArgumentException(what + ": the ByteBuffer is neither direct nor array-backed");
      }
      if (t.dataType().byteSize() > 1 && b.order() != ByteOrder.nativeOrder()) {
        throw new IllegalArgumentException(
            what + ": the ByteBuffer's order is " + b.order() + ", set it to ByteOrder.nativeOrder()");
      }
      if (b.remaining() != t.numBytes()) {
        throw new IllegalArgumentException(
            what + ": the ByteBuffer has " + b.remaining() + " bytes remaining, " + t.numBytes() + " needed");
      }
      return;
    }
    Class<?> want = t.dataType().arrayClass();
    if (data.getClass() != want) {
      throw new IllegalArgumentException(
          what + ": got " + data.getClass().getSimpleName() + ", needs " + want.getSimpleName()
              + " or a ByteBuffer");
    }
    int length = java.lang.reflect.Array.getLength(data);
    if (length != t.numElements()) {
      throw new IllegalArgumentException(
          what + ": " + want.getSimpleName() + " of " + length + " elements, needs " + t.numElements());
    }
  }

  private static void copy(long h, Tensor t, Object data) {
    if (data instanceof ByteBuffer) {
      ByteBuffer b = (ByteBuffer) data;
      if (b.isDirect()) {
        nativeCopyDirect(h, t.isOutput(), t.index(), b, b.position(), t.numBytes());
      } else {
        nativeCopyArray(h, t.isOutput(), t.index(), b.array(), 1, b.arrayOffset() + b.position(), t.numBytes());
      }
    } else {
      nativeCopyArray(h, t.isOutput(), t.index(), data, t.dataType().byteSize(), 0, t.numBytes());
    }
  }

  // -- native (jni/edgerun_jni.c) ------------------------------------------------------------------------
  private static native long nativeOpenFile(String path);
  private static native long nativeOpenBytes(byte[] data, int offset, int length);
  private static native long nativeOpenDirect(ByteBuffer buffer, int position, int length);
  private static native void nativeClose(long handle);
  private static native int nativeCount(long handle, boolean output);
  private static native Tensor nativeTensor(long handle, boolean output, int index);
  private static native void nativeCopyDirect(long handle, boolean output, int index, ByteBuffer buffer,
                                              int position, int bytes);
  private static native void nativeCopyArray(long handle, boolean output, int index, Object array,
                                             int elemBytes, int offset, int bytes);
  private static native void nativeInvoke(long handle);
  private static native void nativeResetVariables(long handle);
  private static native void nativeSetNumThreads(long handle, int threads);
  private static native String nativeModelText(long handle, int what);
  private static native String nativeRuntimeVersion();
}
