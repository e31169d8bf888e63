package io.flipflow.activities.train;

import io.flipflow.activities.engine.NativeTorch;
import io.flipflow.activities.engine.ProcessGroup;
import io.flipflow.activities.engine.TcpStore;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A rank of {@link RanksTrainingTest} in a JVM of its own: {@code RanksTrainingPeer PORT RANK WORLD
 * DIR MODE} trains {@link RanksTrainingTest#config()} as that rank ({@code MODE} {@code reduce};
 * {@code no-reduce} without the gradient all-reduce; {@code row-share} on its rows alone, as over
 * data streams) and exits 0, or prints the failure and exits 1.
 */
public final class RanksTrainingPeer {

  private RanksTrainingPeer() {}

  public static void main(String[] args) {
    int port = Integer.parseInt(args[0]);
    int rank = Integer.parseInt(args[1]);
    int world = Integer.parseInt(args[2]);
    Path dir = Path.of(args[3]);
    boolean reduce = !args[4].equals("no-reduce");
    boolean rowShares = args[4].equals("row-share");
    try (TcpStore store =
            NativeTorch.rendezvous(
                RanksTrainingTest.HOST, port, rank, world, Duration.ofSeconds(60));
        ProcessGroup group =
            store.processGroup(ProcessGroup.Backend.GLOO, RanksTrainingTest.HOST)) {
      LoopResult result = RanksTrainingTest.trainAsRank(group, reduce, rowShares, dir);
      System.out.println("rank " + rank + ": trained to step " + result.step());
      System.out.flush();
      System.exit(0);
    } catch (Throwable t) {
      System.out.println("rank " + rank + " failed: " + t);
      System.out.flush();
      System.exit(1);
    }
  }
}
