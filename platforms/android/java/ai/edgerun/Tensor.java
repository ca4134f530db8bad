package ai.edgerun;

import java.util.Arrays;

/**
 * Description of one input or output of a model: name, element type, shape, quantization (scale 0 when not
 * quantized; per-channel tensors report their first channel's) and size in bytes. Immutable.
 */
public final class Tensor {
  private final int index;
  private final String name;
  private final DataType dataType;
  private final int[] shape;
  private final float scale;
  private final int zeroPoint;
  private final long numBytes;
  private final boolean isOutput;

  // Called from JNI (edgerun_jni.c, nativeTensor): keep the signature in step.
  Tensor(int index, String name, int typeCode, int[] shape, float scale, int zeroPoint, long numBytes,
         boolean isOutput) {
    this.index = index;
    this.name = name;
    this.dataType = DataType.fromCode(typeCode);
    this.shape = shape;
    this.scale = scale;
    this.zeroPoint = zeroPoint;
    this.numBytes = numBytes;
    this.isOutput = isOutput;
  }

  public int index() { return index; }
  public String name() { return name; }
  public DataType dataType() { return dataType; }
  /** A copy of the shape. */
  public int[] shape() { return shape.clone(); }
  public int numDimensions() { return shape.length; }
  public float scale() { return scale; }
  public int zeroPoint() { return zeroPoint; }
  public int numBytes() { return (int) numBytes; }
  public int numElements() { return (int) (numBytes / dataType.byteSize()); }
  public boolean isOutput() { return isOutput; }

  // Kotlin property style (tensor.name, tensor.dataType, ...)
  public String getName() { return name; }
  public DataType getDataType() { return dataType; }
  public int[] getShape() { return shape(); }
  public float getScale() { return scale; }
  public int getZeroPoint() { return zeroPoint; }
  public int getNumBytes() { return numBytes(); }

  @Override
  public String toString() {
    return (isOutput ? "output " : "input ") + index + " '" + name + "' " + dataType + " " + Arrays.toString(shape)
        + " scale " + scale + " zeroPoint " + zeroPoint + " bytes " + numBytes;
  }
}
