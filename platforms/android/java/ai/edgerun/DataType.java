package ai.edgerun;

/** Element types of inputs and outputs: TFLite's TensorType codes, as edgerun_runtime.h reports them. */
public enum DataType {
  FLOAT32(0, 4),
  FLOAT16(1, 2),
  INT32(2, 4),
  UINT8(3, 1),
  INT64(4, 8),
  BOOL(6, 1),
  INT16(7, 2),
  INT8(9, 1),
  FLOAT64(10, 8),
  UINT64(12, 8),
  UINT32(15, 4),
  UINT16(16, 2);

  private final int code;
  private final int byteSize;

  DataType(int code, int byteSize) {
    this.code = code;
    this.byteSize = byteSize;
  }

  /** The TensorType code. */
  public int code() {
    return code;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }

  /**
   * The Java primitive array type that holds this type's elements unchanged (unsigned types in the signed
   * array of the same width; FLOAT16 as its raw bits in a short[]).
   */
  public Class<?> arrayClass() {
    switch (this) {
      case FLOAT32: return float[].class;
      case FLOAT64: return double[].class;
      case INT32: case UINT32: return int[].class;
      case INT64: case UINT64: return long[].class;
      case INT16: case UINT16: case FLOAT16: return short[].class;
      default: return byte[].class; // INT8, UINT8, BOOL
    }
  }

  static DataType fromCode(int code) {
    for (DataType t : values()) {
      if (t.code == code) return t;
    }
    throw new EdgerunException("unknown tensor type code " + code, EdgerunException.ERROR_FORMAT);
  }
}
