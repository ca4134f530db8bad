package ai.edgerun;

/**
 * A failure reported by the edgerun C library: the message is the library's own (what and where: field, op,
 * tensor), {@link #getStatus()} its status code (edgerun_status in edgerun_runtime.h).
 */
public class EdgerunException extends RuntimeException {
  public static final int ERROR_ARGUMENT = 1;
  public static final int ERROR_IO = 2;
  public static final int ERROR_FORMAT = 3;
  public static final int ERROR_VERSION = 4;
  public static final int ERROR_INCOMPATIBLE = 5;
  public static final int ERROR_MEMORY = 6;
  public static final int ERROR_INVOKE = 7;
  public static final int ERROR_UNSUPPORTED = 8;

  private static final long serialVersionUID = 1L;

  private final int status;

  public EdgerunException(String message, int status) {
    super(message);
    this.status = status;
  }

  /** The C library's edgerun_status (ERROR_ARGUMENT ... ERROR_UNSUPPORTED). */
  public int getStatus() {
    return status;
  }
}
