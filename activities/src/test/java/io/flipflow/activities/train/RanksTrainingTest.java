package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.flipflow.activities.engine.NativeTorch;
import io.flipflow.activities.engine.PeerJvm;
import io.flipflow.activities.engine.ProcessGroup;
import io.flipflow.activities.engine.TcpStore;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.workflows.plan.TrainConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel training across processes: two ranks, this JVM and a second one ({@link
 * RanksTrainingPeer}), over Gloo on 127.0.0.1, each handed its half of every global batch's images
 * (as a rank's staged reader decodes only its share) and every caption, train exactly like one
 * process on the whole batch: the same losses for 20 steps (masked images, masked text, clipping)
 * and the same weights afterwards, identical on both ranks. Without the gradient all-reduce the
 * ranks drift apart and the weight checksum stops the run, naming the step.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class RanksTrainingTest {

  static final String HOST = "127.0.0.1";
  static final int STEPS = 20;
  static final long CHECK_EVERY = 5;

  /** Masked images and text, clipping on, warmup then cosine: every part of a real step. */
  static TrainConfig config() {
    return ClipTrainerTest.config(0.5, 16, STEPS).with().textMaskRatio(0.25).build();
  }

  @BeforeEach
  void requireExtension() {
    AdamWTest.assumeKernel(AdamW.Kernel.MULTI_TENSOR);
  }

  @Test
  void twoRanksInTwoJvmsTrainExactlyLikeOneProcessOnTheGlobalBatch(@TempDir Path dir)
      throws Exception {
    assertRanksTrainLikeOneProcess(false, dir);
  }

  /**
   * Over data streams each rank reads its rows alone, captions included, and text masks are drawn
   * per row: the split still trains what one process does.
   */
  @Test
  void twoRanksOnRowSharesTrainExactlyLikeOneProcessOnTheWholeBatch(@TempDir Path dir)
      throws Exception {
    assertRanksTrainLikeOneProcess(true, dir);
  }

  private static void assertRanksTrainLikeOneProcess(boolean rowShares, Path dir) throws Exception {
    Map<String, float[]> single = new LinkedHashMap<>();
    List<Float> singleLosses = train(null, true, rowShares, dir.resolve("single"), single);

    Map<String, float[]> rank0 = new LinkedHashMap<>();
    List<Float> rankLosses = twoRanks(rowShares ? "row-share" : "reduce", dir, rank0);

    assertEquals(STEPS, rankLosses.size());
    double worstLoss = 0;
    for (int i = 0; i < STEPS; i++) {
      double relative = Math.abs(rankLosses.get(i) - singleLosses.get(i)) / singleLosses.get(i);
      worstLoss = Math.max(worstLoss, relative);
      assertTrue(
          relative < 1e-5,
          "step " + (i + 1) + ": 2 ranks " + rankLosses.get(i) + " vs 1 process " + singleLosses);
    }
    assertTrue(
        singleLosses.get(STEPS - 1) < singleLosses.get(0) - 0.1,
        "the model must move for equality to mean anything: " + singleLosses);
    double worstWeight = 0;
    for (String name : single.keySet()) {
      float[] a = single.get(name);
      float[] b = rank0.get(name);
      for (int i = 0; i < a.length; i++) {
        worstWeight = Math.max(worstWeight, Math.abs(a[i] - b[i]));
      }
    }
    System.out.printf(
        "2 ranks vs 1 process%s, %d steps: losses within %.2e relative, weights within %.2e%n",
        rowShares ? " on row shares" : "", STEPS, worstLoss, worstWeight);
    assertTrue(worstWeight < 1e-5, "weights differ by up to " + worstWeight);
  }

  @Test
  void withoutTheGradientAllReduceTheRanksDivergeAndTheChecksumStopsThem(@TempDir Path dir) {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class, () -> twoRanks("no-reduce", dir, new LinkedHashMap<>()));
    assertTrue(
        e.getMessage().startsWith("data-parallel ranks diverged at step " + CHECK_EVERY),
        e.getMessage());
  }

  /**
   * Rank 0 here, rank 1 in a second JVM ({@link RanksTrainingPeer}'s mode); rank 0's losses and
   * final weights.
   */
  private static List<Float> twoRanks(String mode, Path dir, Map<String, float[]> weights)
      throws Exception {
    boolean reduce = !mode.equals("no-reduce");
    try (TcpStore store = NativeTorch.rendezvous(HOST, 0, 0, 2, Duration.ofSeconds(60))) {
      Process peer =
          PeerJvm.start(
              RanksTrainingPeer.class,
              // a small heap collects often: a tensor whose memory Java frees early shows here
              List.of(
                  "-Xmx64m", "-D" + NativeTorch.LIBRARY_PROPERTY + "=" + NativeTorch.libraryPath()),
              List.of(
                  String.valueOf(store.port()), "1", "2", dir.resolve("rank1").toString(), mode));
      CompletableFuture<String> output = PeerJvm.drain(peer);
      try (ProcessGroup group = store.processGroup(ProcessGroup.Backend.GLOO, HOST)) {
        return train(group, reduce, mode.equals("row-share"), dir.resolve("rank0"), weights);
      } finally {
        assertTrue(peer.waitFor(120, TimeUnit.SECONDS), "rank 1 did not exit");
        String out = output.get(10, TimeUnit.SECONDS);
        System.out.print(out);
        if (reduce) {
          assertEquals(0, peer.exitValue(), "rank 1 failed:\n" + out);
          assertTrue(out.contains("rank 1: trained to step " + STEPS), out);
        } else {
          assertTrue(out.contains("rank 1 failed: "), out);
          assertTrue(out.contains("diverged at step " + CHECK_EVERY), out);
        }
      }
    }
  }

  /** Trains {@link #config()} in one process (group null) or as a rank; losses and weights. */
  private static List<Float> train(
      ProcessGroup group,
      boolean reduce,
      boolean rowShares,
      Path dir,
      Map<String, float[]> weights) {
    List<Float> losses = new ArrayList<>();
    ModelPreset preset = ClipTrainerTest.micro();
    try (ClipTrainer trainer = ClipTrainer.create(config(), preset)) {
      if (group != null) {
        RankGroup ranks = new RankGroup(group, CHECK_EVERY);
        trainer.withRanks(reduce ? ranks : ranks.withoutGradientAllReduce());
      }
      BatchSource data =
          group == null
              ? new RankView(new SyntheticBatchSource(preset, 16), 0, 1, rowShares)
              : new RankView(
                  new SyntheticBatchSource(preset, 16), group.rank(), group.worldSize(), rowShares);
      trainer.run(data, dir, m -> losses.add(m.loss()), () -> false);
      for (Pair<String, Parameter> p : trainer.model().getParameters()) {
        weights.put(p.getKey(), p.getValue().getArray().toFloatArray());
      }
    }
    return losses;
  }

  /** What {@link RanksTrainingPeer} runs as its rank. */
  static LoopResult trainAsRank(ProcessGroup group, boolean reduce, boolean rowShares, Path dir) {
    ModelPreset preset = ClipTrainerTest.micro();
    try (ClipTrainer trainer = ClipTrainer.create(config(), preset)) {
      RankGroup ranks = new RankGroup(group, CHECK_EVERY);
      trainer.withRanks(reduce ? ranks : ranks.withoutGradientAllReduce());
      return trainer.run(
          new RankView(
              new SyntheticBatchSource(preset, 16), group.rank(), group.worldSize(), rowShares),
          dir,
          m -> {},
          () -> false);
    }
  }

  /**
   * A rank's view of a source, as its staged reader gives it: its rows' images with every caption,
   * or, as a row share (data streams), its rows alone.
   */
  record RankView(BatchSource all, int rank, int worldSize, boolean rowShare)
      implements BatchSource {
    @Override
    public Batch next(NDManager manager, int batchSize) {
      Batch global = all.next(manager, batchSize);
      int rows = batchSize / worldSize;
      NDIndex own = new NDIndex("{}:{}", rank * rows, (rank + 1) * rows);
      return rowShare
          ? new Batch(global.images().get(own), global.tokens().get(own), null, rank * rows)
          : new Batch(global.images().get(own), global.tokens());
    }

    @Override
    public long position() {
      return all.position();
    }

    @Override
    public void seek(long position) {
      all.seek(position);
    }
  }
}
