package io.flipflow.activities.engine;

/**
 * A failure inside {@code libflipflow_torch.so}, carrying the C++ message (a {@code c10::Error} or
 * {@code std::exception}: a shape mismatch, a rendezvous or collective timeout, a peer gone). The
 * native side never lets a C++ exception reach the JVM; it throws this instead.
 */
public class NativeTorchException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public NativeTorchException(String message) {
    super(message);
  }
}
