package io.flipflow.activities.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.util.Pair;
import io.flipflow.activities.engine.NativeTorch;
import io.flipflow.activities.engine.ProcessGroup;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.Scalars;
import java.util.ArrayList;
import java.util.List;

/**
 * One rank of a data-parallel training job over a c10d process group: each rank is its own process
 * with one device and a full copy of the model, and takes rows {@code [rank * b, (rank + 1) * b)}
 * of every global batch (b = batch / world size).
 *
 * <p>What keeps R ranks training exactly like one process on the global batch:
 *
 * <ul>
 *   <li>Every rank reads the same global batch, masks the text and draws the patch mask for all of
 *       it from the step's seed, then keeps its rows: the data order and the masking noise are
 *       functions of (seed, step, global sample index), not of the split.
 *   <li>The InfoNCE is over the global batch: each rank all-gathers the embeddings (as OpenCLIP's
 *       {@code gather_features}) and takes its share of the loss, its own rows against all of them
 *       (OpenCLIP's {@code local_loss}: b x B logits, not B x B); the global loss is the mean of
 *       the shares. It backpropagates its share to the gathered copies, the ranks sum those
 *       gradients (all-reduce), and each backpropagates {@code sum(e * dL/de)} of its own rows into
 *       its towers: the gradient of the global loss, since the other ranks' rows do not depend on
 *       its weights.
 *   <li>Gradients are summed across ranks (c10d all-reduce, bucketed), the temperature's too.
 *   <li>Every rank applies the same AdamW update to the same weights; rank 0's weights are
 *       broadcast at the start, and a checksum of the weights is compared across ranks every {@link
 *       #checkEvery()} steps: a rank that diverged fails the run loudly.
 * </ul>
 *
 * <p>Rank 0 alone writes checkpoints and reports metrics; the stop decision and the re-fitted
 * schedule length are agreed by all ranks each step (one small all-reduce), so all stop together.
 */
public final class RankGroup {

  /** Steps between weight checksums across ranks. */
  public static final long DEFAULT_CHECK_EVERY = 50;

  private final ProcessGroup group;
  private final long checkEvery;
  private boolean reduceGradients = true;
  private long collectiveNanos; // in the all-gather and the gradient all-reduce, for benchmarks

  public RankGroup(ProcessGroup group) {
    this(group, DEFAULT_CHECK_EVERY);
  }

  public RankGroup(ProcessGroup group, long checkEvery) {
    if (checkEvery < 1) {
      throw new IllegalArgumentException("checkEvery must be positive, got " + checkEvery);
    }
    this.group = group;
    this.checkEvery = checkEvery;
  }

  public int rank() {
    return group.rank();
  }

  public int worldSize() {
    return group.worldSize();
  }

  public long checkEvery() {
    return checkEvery;
  }

  /** Milliseconds spent so far in the embeddings' all-gather and the gradient all-reduce. */
  public double collectiveMillis() {
    return collectiveNanos / 1e6;
  }

  /** Rank 0 writes checkpoints and reports metrics. */
  public boolean isLeader() {
    return group.rank() == 0;
  }

  /** Test hook: without the gradient all-reduce the ranks must diverge, and be caught doing so. */
  RankGroup withoutGradientAllReduce() {
    this.reduceGradients = false;
    return this;
  }

  /** Refuses a global batch that does not split evenly over the ranks. */
  void checkBatch(int batchSize) {
    if (batchSize % worldSize() != 0) {
      throw new IllegalArgumentException(
          "batchSize " + batchSize + " does not split evenly over " + worldSize() + " ranks");
    }
  }

  /** This rank's rows of a global batch tensor (null stays null). */
  NDArray ownRows(NDArray global) {
    if (global == null) {
      return null;
    }
    long b = global.getShape().get(0) / worldSize();
    return global.get(new NDIndex("{}:{}", b * rank(), b * (rank() + 1)));
  }

  /**
   * This rank's images of a global batch of {@code size}: all of them sliced, or the rank's rows as
   * a sharded source ({@code StagedDataReader}) hands them over.
   */
  NDArray ownImages(NDArray images, int size) {
    long rows = images.getShape().get(0);
    if (rows == size) {
      return ownRows(images);
    }
    if (rows * worldSize() == size) {
      return images;
    }
    throw new IllegalStateException(
        rows + " images for a global batch of " + size + " over " + worldSize() + " ranks");
  }

  /**
   * Fails, naming every rank's position, unless all ranks start at the same step of the same
   * schedule: ranks resumed from different checkpoints would each train their own run.
   */
  void checkSameStart(long step, long dataPosition, long totalSteps, NDManager manager) {
    long[] mine = {step, dataPosition, totalSteps};
    long[] all = group.allGather(manager.create(mine), manager).toLongArray();
    for (int r = 0; r < worldSize(); r++) {
      for (int i = 0; i < mine.length; i++) {
        if (all[r * mine.length + i] != mine[i]) {
          throw new IllegalStateException(
              "data-parallel ranks start from different states (step, data position, schedule"
                  + " length by rank): "
                  + java.util.Arrays.toString(all)
                  + "; every rank must resume from the checkpoint rank 0 names");
        }
      }
    }
  }

  /** Rank 0's weights on every rank. */
  void broadcastWeights(ClipModel model) {
    group.broadcast(weights(model), 0);
  }

  /**
   * Forward and backward of this rank's share of the global batch with the global InfoNCE, the
   * backward of the loss times {@code lossScale} (fp16; else 1); returns the global loss (the same
   * on every rank) and sets {@code forwardEnd[0]}.
   */
  NDArray lossAndBackward(
      ClipModel model,
      Batch global,
      double maskRatio,
      double lossScale,
      NDManager stepManager,
      long[] forwardEnd) {
    // a row share holds this rank's rows only; else the captions are the whole batch's and the
    // images may be this rank's rows already
    boolean rowShare = global.isRowShare();
    int size = (int) global.tokens().getShape().get(0) * (rowShare ? worldSize() : 1);
    if (rowShare && global.firstRow() != rank() * (size / worldSize())) {
      throw new IllegalStateException(
          "rank "
              + rank()
              + " was handed rows from "
              + global.firstRow()
              + " of a batch of "
              + size);
    }
    // the patch masks are drawn over the global batch, so a split of it masks the same
    NDArray keep = model.sampleKeepIndices(stepManager, size, maskRatio);
    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
      NDList own =
          model.trainingEmbeddings(
              ownImages(global.images(), size),
              rowShare ? global.tokens() : ownRows(global.tokens()),
              rowShare ? global.textPositions() : ownRows(global.textPositions()),
              ownRows(keep));
      NDArray images = gatheredLeaf(own.get(0), stepManager);
      NDArray texts = gatheredLeaf(own.get(1), stepManager);
      long b = images.getShape().get(0) / worldSize();
      NDArray share = model.localLossFromEmbeddings(images, texts, b * rank(), b);
      forwardEnd[0] = System.nanoTime();
      // the global loss is the mean of the ranks' shares: each backpropagates its share / R
      collector.backward(Scalars.mul(share, lossScale / worldSize()));
      NDArray imageGradient = images.getGradient().duplicate();
      NDArray textGradient = texts.getGradient().duplicate();
      NDArray loss = share.stopGradient().duplicate();
      long started = System.nanoTime();
      // summed, the shares' gradients are the global loss's gradient of every embedding
      group.allReduce(List.of(imageGradient, textGradient, loss));
      collectiveNanos += System.nanoTime() - started;
      collector.backward(
          own.get(0)
              .mul(ownRows(imageGradient))
              .sum()
              .add(own.get(1).mul(ownRows(textGradient)).sum()));
      return Scalars.div(loss, worldSize());
    }
  }

  /** Every rank's rows of {@code local}, in rank order, as one leaf that collects its gradient. */
  private NDArray gatheredLeaf(NDArray local, NDManager manager) {
    long started = System.nanoTime();
    NDArray stacked = group.allGather(local.stopGradient(), manager); // (R, b, E)
    collectiveNanos += System.nanoTime() - started;
    NDArray leaf =
        stacked.reshape(stacked.getShape().get(0) * stacked.getShape().get(1), -1).duplicate();
    leaf.setRequiresGradient(true);
    return leaf;
  }

  /** Sums the gradients across ranks (the temperature's too: each rank has its share's). */
  void allReduceGradients(ClipModel model) {
    if (reduceGradients) {
      long started = System.nanoTime();
      group.allReduceGradients(weights(model), false);
      collectiveNanos += System.nanoTime() - started;
    }
  }

  /**
   * The stop decision (any rank asked) and rank 0's schedule length, agreed by all ranks; returns
   * {@code {stop ? 1 : 0, totalSteps}}.
   */
  long[] agree(boolean stopRequested, long totalSteps, NDManager manager) {
    NDArray votes =
        manager.create(new double[] {stopRequested ? 1 : 0, isLeader() ? totalSteps : 0});
    group.allReduce(List.of(votes));
    double[] agreed = votes.toDoubleArray();
    return new long[] {agreed[0] > 0 ? 1 : 0, Math.round(agreed[1])};
  }

  /** Fails, naming the step and every rank's checksum, when the ranks' weights differ. */
  void checkSameWeights(ClipModel model, long step, NDManager manager) {
    long mine = NativeTorch.bitChecksum(weights(model));
    long[] all = group.allGather(manager.create(new long[] {mine}), manager).toLongArray();
    for (long theirs : all) {
      if (theirs != mine) {
        throw new IllegalStateException(
            "data-parallel ranks diverged at step "
                + step
                + ": rank "
                + rank()
                + " sees weight checksums "
                + java.util.Arrays.toString(all)
                + " (by rank); every rank must apply the same update to the same weights");
      }
    }
  }

  private static List<NDArray> weights(ClipModel model) {
    List<NDArray> out = new ArrayList<>();
    for (Pair<String, Parameter> p : model.getParameters()) {
      out.add(p.getValue().getArray());
    }
    return out;
  }
}
