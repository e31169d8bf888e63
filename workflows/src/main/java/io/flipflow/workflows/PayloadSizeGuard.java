package io.flipflow.workflows;

import io.temporal.api.common.v1.Payload;
import io.temporal.common.converter.CodecDataConverter;
import io.temporal.common.converter.DataConverter;
import io.temporal.common.converter.DefaultDataConverter;
import io.temporal.payload.codec.PayloadCodec;
import java.util.List;

/**
 * Fails clearly, on the side that sends it, before a payload reaches Temporal's 2 MiB limit: only
 * references (S3 URIs, ids, small records) belong in workflow inputs, results and heartbeats.
 * Without it, an oversized payload is rejected by the server with a less helpful message (or, on
 * the in-memory test server, accepted).
 */
public final class PayloadSizeGuard implements PayloadCodec {
  /** Temporal warns at 512 KiB and rejects at 2 MiB; stop at 1 MiB, well before. */
  public static final int DEFAULT_LIMIT_BYTES = 1 << 20;

  private final int limitBytes;

  public PayloadSizeGuard(int limitBytes) {
    this.limitBytes = limitBytes;
  }

  /** Temporal's default converter behind the guard: what clients and workers should use. */
  public static DataConverter dataConverter() {
    return new CodecDataConverter(
        DefaultDataConverter.newDefaultInstance(),
        List.of(new PayloadSizeGuard(DEFAULT_LIMIT_BYTES)));
  }

  @Override
  public List<Payload> encode(List<Payload> payloads) {
    for (Payload p : payloads) {
      int size = p.getSerializedSize();
      if (size > limitBytes) {
        throw new IllegalArgumentException(
            "a Temporal payload of "
                + size
                + " bytes exceeds flipflow's limit of "
                + limitBytes
                + " bytes (Temporal rejects 2 MiB): pass data by S3 URI, not by value");
      }
    }
    return payloads;
  }

  @Override
  public List<Payload> decode(List<Payload> payloads) {
    return payloads;
  }
}
