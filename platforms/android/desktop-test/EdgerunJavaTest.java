// Desktop driver of tests/platforms/test_java.py (not part of the Gradle module: build.gradle's sources are java/): runs plan files through
// ai.edgerun.Interpreter on the JVM. Modes:
//   run OPEN IO RESET_AT PLAN DIR  open the plan (file|bytes|buffer|heap), print the tensors, run every step of
//                                  DIR/in<i>.bin with IO (array|direct|heap) through run() (1 in, 1 out) or
//                                  runForMultipleInputsOutputs, resetting variables before step RESET_AT (-1:
//                                  never), append the outputs to DIR/out<j>.bin; setNumThreads(N) first when
//                                  the environment has EDGERUN_JAVA_TEST_THREADS=N
//   open-error PLAN                open as file, byte[] and direct ByteBuffer, print each exception
//   wrong-input PLAN               short array, wrong array type, oversized buffer, null, no inputs, wrong
//                                  output type: print each exception, then run once correctly
//   threads PLAN                   setNumThreads(2), (0), (1), print each outcome
//   closed PLAN                    use after close
import ai.edgerun.*;
import java.io.*;
import java.nio.*;
import java.nio.file.*;
import java.util.*;

public class EdgerunJavaTest {
  static ByteBuffer nat(byte[] b) { return ByteBuffer.wrap(b).order(ByteOrder.nativeOrder()); }

  static Object fromBytes(DataType t, byte[] b, String io) {
    if (io.equals("direct")) {
      ByteBuffer d = ByteBuffer.allocateDirect(b.length).order(ByteOrder.nativeOrder());
      d.put(b); d.rewind();
      return d;
    }
    if (io.equals("heap")) return nat(b.clone());
    int n = b.length / t.byteSize();
    switch (t) {
      case FLOAT32: { float[] a = new float[n]; nat(b).asFloatBuffer().get(a); return a; }
      case INT32: case UINT32: { int[] a = new int[n]; nat(b).asIntBuffer().get(a); return a; }
      case INT64: case UINT64: { long[] a = new long[n]; nat(b).asLongBuffer().get(a); return a; }
      case FLOAT64: { double[] a = new double[n]; nat(b).asDoubleBuffer().get(a); return a; }
      case INT16: case UINT16: case FLOAT16: { short[] a = new short[n]; nat(b).asShortBuffer().get(a); return a; }
      default: return b.clone();
    }
  }

  static Object blank(Tensor t, String io) {
    if (io.equals("direct")) return ByteBuffer.allocateDirect(t.numBytes()).order(ByteOrder.nativeOrder());
    if (io.equals("heap")) return ByteBuffer.allocate(t.numBytes()).order(ByteOrder.nativeOrder());
    return java.lang.reflect.Array.newInstance(t.dataType().arrayClass().getComponentType(), t.numElements());
  }

  static byte[] toBytes(Object o, int bytes) {
    ByteBuffer out = ByteBuffer.allocate(bytes).order(ByteOrder.nativeOrder());
    if (o instanceof ByteBuffer) { ByteBuffer b = ((ByteBuffer) o).duplicate(); out.put(b); }
    else if (o instanceof float[]) out.asFloatBuffer().put((float[]) o);
    else if (o instanceof int[]) out.asIntBuffer().put((int[]) o);
    else if (o instanceof long[]) out.asLongBuffer().put((long[]) o);
    else if (o instanceof double[]) out.asDoubleBuffer().put((double[]) o);
    else if (o instanceof short[]) out.asShortBuffer().put((short[]) o);
    else out.put((byte[]) o);
    return out.array();
  }

  static Interpreter open(String how, String plan) throws IOException {
    byte[] data;
    switch (how) {
      case "file": return new Interpreter(new File(plan));
      case "bytes": return new Interpreter(Files.readAllBytes(Paths.get(plan)));
      case "buffer":
        data = Files.readAllBytes(Paths.get(plan));
        ByteBuffer d = ByteBuffer.allocateDirect(data.length + 3);
        d.position(3); d.put(data); d.position(3);   // a plan not at the buffer's start, unaligned
        return new Interpreter(d);
      case "heap": return new Interpreter(ByteBuffer.wrap(Files.readAllBytes(Paths.get(plan))));
      default: throw new IllegalArgumentException(how);
    }
  }

  static void report(String what, Throwable e) {
    String status = e instanceof EdgerunException ? " status=" + ((EdgerunException) e).getStatus() : "";
    System.out.println(what + ": " + e.getClass().getSimpleName() + status + " message=" + e.getMessage());
  }

  static void printTensor(Tensor t) {
    System.out.println((t.isOutput() ? "output " : "input ") + t.index() + "|" + t.name() + "|" + t.dataType().code()
        + "|" + Arrays.toString(t.shape()) + "|" + t.scale() + "|" + t.zeroPoint() + "|" + t.numBytes());
  }

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    if (mode.equals("run")) {
      String how = args[1], io = args[2], dir = args[5];
      int resetAt = Integer.parseInt(args[3]);
      try (Interpreter it = open(how, args[4])) {
        System.out.println("version " + Interpreter.runtimeVersion() + " target " + it.getTarget() + " kernels " + it.getKernelSet());
        String threads = System.getenv("EDGERUN_JAVA_TEST_THREADS");
        if (threads != null) it.setNumThreads(Integer.parseInt(threads));
        int ni = it.getInputCount(), no = it.getOutputCount();
        byte[][] ins = new byte[ni][];
        for (int i = 0; i < ni; ++i) { printTensor(it.getInputTensor(i)); ins[i] = Files.readAllBytes(Paths.get(dir, "in" + i + ".bin")); }
        for (int j = 0; j < no; ++j) printTensor(it.getOutputTensor(j));
        int steps = ins[0].length / it.getInputTensor(0).numBytes();
        OutputStream[] outs = new OutputStream[no];
        for (int j = 0; j < no; ++j) outs[j] = new FileOutputStream(new File(dir, "out" + j + ".bin"));
        for (int s = 0; s < steps; ++s) {
          if (s == resetAt) it.resetVariableTensors();
          Object[] x = new Object[ni];
          for (int i = 0; i < ni; ++i) {
            int nb = it.getInputTensor(i).numBytes();
            x[i] = fromBytes(it.getInputTensor(i).dataType(), Arrays.copyOfRange(ins[i], s * nb, (s + 1) * nb), io);
          }
          Map<Integer, Object> y = new HashMap<>();
          for (int j = 0; j < no; ++j) y.put(j, blank(it.getOutputTensor(j), io));
          if (ni == 1 && no == 1) it.run(x[0], y.get(0));
          else it.runForMultipleInputsOutputs(x, y);
          for (int j = 0; j < no; ++j) outs[j].write(toBytes(y.get(j), it.getOutputTensor(j).numBytes()));
        }
        for (OutputStream o : outs) o.close();
        System.out.println(steps + " steps");
      }
    } else if (mode.equals("open-error")) {
      for (String how : new String[] {"file", "bytes", "buffer"}) {
        try (Interpreter it = open(how, args[1])) { System.out.println(how + ": opened, " + it.getInputCount() + " inputs"); }
        catch (Exception e) { report(how, e); }
      }
    } else if (mode.equals("wrong-input")) {
      try (Interpreter it = open("file", args[1])) {
        Tensor t = it.getInputTensor(0), o = it.getOutputTensor(0);
        Object y = blank(o, "array");
        Object[] bad = {
          java.lang.reflect.Array.newInstance(t.dataType().arrayClass().getComponentType(), t.numElements() - 1),
          new double[t.numElements()],
          ByteBuffer.allocateDirect(t.numBytes() + 4),
          null,
        };
        String[] names = {"short", "type", "buffer-size", "null"};
        for (int k = 0; k < bad.length; ++k) {
          try { it.run(bad[k], y); System.out.println(names[k] + ": ran"); } catch (Exception e) { report(names[k], e); }
        }
        try { it.runForMultipleInputsOutputs(new Object[] {}, new HashMap<>()); System.out.println("count: ran"); }
        catch (Exception e) { report("count", e); }
        try { it.run(blank(t, "array"), new float[3]); System.out.println("output: ran"); } catch (Exception e) { report("output", e); }
        it.run(blank(t, "array"), y);   // still usable
        System.out.println("still runs");
      }
    } else if (mode.equals("threads")) {
      try (Interpreter it = open("file", args[1])) {
        for (int n : new int[] {2, 0, 1}) {
          try { it.setNumThreads(n); System.out.println(n + ": ok"); } catch (Exception e) { report(Integer.toString(n), e); }
        }
      }
    } else if (mode.equals("closed")) {
      Interpreter it = open("file", args[1]);
      it.close();
      it.close();
      try { it.run(null, null); } catch (Exception e) { report("closed", e); }
    }
  }
}
