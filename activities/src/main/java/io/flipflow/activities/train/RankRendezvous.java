package io.flipflow.activities.train;

import com.google.gson.Gson;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.engine.NativeTorch;
import io.flipflow.activities.engine.TcpStore;
import io.flipflow.workflows.plan.RankAssignment;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the ranks of one gang meet. Rank 0 serves a c10d TCPStore on a free port and publishes
 * {@code host:port} as a small JSON object in S3, beside the stage's checkpoints; the other ranks
 * poll for it (heartbeating, so a cancel reaches them) and connect. The object's key holds the
 * workflow run and the gang's start number, so a rank never meets a member of an earlier gang. Only
 * this reference travels through Temporal: the activities agree on the key by construction.
 */
final class RankRendezvous {
  private static final Logger log = LoggerFactory.getLogger(RankRendezvous.class);
  private static final Gson GSON = new Gson();
  private static final long POLL_MILLIS = 500;

  /** What rank 0 publishes. */
  record Address(String host, int port) {}

  private RankRendezvous() {}

  /** The rendezvous object of one gang of one stage of one workflow run. */
  static S3Uri location(
      S3Uri checkpointRoot, String workflowId, String runId, String stage, int gang) {
    return checkpointRoot.resolve(
        workflowId + "/" + stage + "/rendezvous/" + runId + "-gang-" + gang + ".json");
  }

  /**
   * Joins the gang: rank 0 binds and publishes, the others wait for the address up to {@code
   * timeout} (failing, retryably, when it never appears) and connect.
   *
   * @param host the address rank 0 advertises; null or blank: this host name's address
   * @param stopRequested answers true once the attempt is cancelled: a waiting rank gives up
   */
  static TcpStore join(
      S3Store store,
      S3Uri where,
      RankAssignment rank,
      String host,
      Duration timeout,
      BooleanSupplier stopRequested) {
    if (rank.isLeader()) {
      String advertised = advertisedHost(host);
      TcpStore served = NativeTorch.rendezvous(advertised, 0, 0, rank.worldSize(), timeout);
      Address address = new Address(advertised, served.port());
      store.put(where, GSON.toJson(address).getBytes(StandardCharsets.UTF_8));
      log.info(
          "rank 0 of {} serves the rendezvous at {}:{} ({})",
          rank.worldSize(),
          address.host(),
          address.port(),
          where);
      return served;
    }
    Address address = awaitAddress(store, where, timeout, stopRequested);
    log.info(
        "rank {} of {} joins the rendezvous at {}:{}",
        rank.rank(),
        rank.worldSize(),
        address.host(),
        address.port());
    return NativeTorch.rendezvous(
        address.host(), address.port(), rank.rank(), rank.worldSize(), timeout);
  }

  /** The address this rank's Gloo binds and advertises, as {@link #join} resolves it. */
  static String advertisedHost(String host) {
    if (host != null && !host.isBlank()) {
      return host.trim();
    }
    try {
      return InetAddress.getLocalHost().getHostAddress();
    } catch (UnknownHostException e) {
      throw new IllegalStateException(
          "cannot resolve this host's address for the rendezvous; set worker.rendezvous_host", e);
    }
  }

  private static Address awaitAddress(
      S3Store store, S3Uri where, Duration timeout, BooleanSupplier stopRequested) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!store.exists(where)) {
      if (stopRequested.getAsBoolean()) {
        throw new IllegalStateException("stopped while waiting for rank 0 at " + where);
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "rank 0 did not publish the rendezvous "
                + where
                + " within "
                + timeout.toSeconds()
                + " s (worker.collective_timeout_seconds): is a gpu worker free for it?");
      }
      try {
        Thread.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for rank 0 at " + where, e);
      }
    }
    Address address =
        GSON.fromJson(new String(store.getBytes(where), StandardCharsets.UTF_8), Address.class);
    if (address == null || address.host() == null || address.port() <= 0) {
      throw new IllegalStateException("the rendezvous " + where + " holds no address");
    }
    return address;
  }
}
