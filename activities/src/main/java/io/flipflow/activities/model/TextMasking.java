package io.flipflow.activities.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * FLIP's text masking (Table 1c): each caption keeps {@code T - round(T * ratio)} of its T token
 * positions, in order, with their own position embeddings, and the text tower runs on the shorter
 * sequence. {@code random} drops positions uniformly; {@code prioritized} drops padding first and
 * real tokens only when the padding runs out (the paper: -2.2 and -0.4 points at 50%, for little
 * speed). The position the tower pools at (end of text) is never dropped. Plain Java on the token
 * ids: the batch is small, and the choice must not depend on how the batch is split over devices.
 */
public final class TextMasking {
  public static final String RANDOM = "random";
  public static final String PRIORITIZED = "prioritized";
  public static final List<String> MODES = List.of(RANDOM, PRIORITIZED);

  /** Kept token ids and their positions, both (B, T'), ascending positions in each row. */
  public record Masked(int[][] tokens, long[][] positions) {}

  private TextMasking() {}

  /**
   * {@link #sample} on a batch: the kept tokens (int32, B x T') and their positions (int64), in
   * {@code manager} on the tokens' device.
   */
  public static NDList apply(
      NDArray tokens, long[] pooled, double ratio, String mode, Random random, NDManager manager) {
    return apply(tokens, pooled, ratio, mode, row -> random, manager);
  }

  /**
   * As above, row {@code b}'s noise from {@code rowRandom.apply(b)}: one generator per row makes a
   * row's mask independent of the rows beside it (one shared generator gives the sequential draws).
   */
  public static NDList apply(
      NDArray tokens,
      long[] pooled,
      double ratio,
      String mode,
      java.util.function.IntFunction<Random> rowRandom,
      NDManager manager) {
    int rows = (int) tokens.getShape().get(0);
    int length = (int) tokens.getShape().get(1);
    int[] flat = tokens.toType(DataType.INT32, false).toIntArray();
    int[][] byRow = new int[rows][];
    for (int b = 0; b < rows; b++) {
      byRow[b] = Arrays.copyOfRange(flat, b * length, (b + 1) * length);
    }
    Masked masked = sample(byRow, pooled, ratio, mode, rowRandom);
    Shape shape = new Shape(rows, kept(length, ratio));
    NDArray keptTokens =
        manager.create(
            Arrays.stream(masked.tokens()).flatMapToInt(Arrays::stream).toArray(), shape);
    NDArray positions =
        manager.create(
            Arrays.stream(masked.positions()).flatMapToLong(Arrays::stream).toArray(), shape);
    return new NDList(
        keptTokens.toDevice(tokens.getDevice(), false),
        positions.toDevice(tokens.getDevice(), false));
  }

  /**
   * The positions each row keeps: {@code T} less a {@code ratio} of it, at least the pooled one.
   */
  public static int kept(int length, double ratio) {
    return Math.max(1, length - (int) Math.round(length * ratio));
  }

  /**
   * @param tokens (B, T) token ids, pad id 0
   * @param pooled per row, the position the text tower pools at (never dropped)
   */
  public static Masked sample(
      int[][] tokens, long[] pooled, double ratio, String mode, Random random) {
    return sample(tokens, pooled, ratio, mode, row -> random);
  }

  /** As above, row {@code b}'s noise from {@code rowRandom.apply(b)}. */
  public static Masked sample(
      int[][] tokens,
      long[] pooled,
      double ratio,
      String mode,
      java.util.function.IntFunction<Random> rowRandom) {
    if (!(ratio >= 0 && ratio < 1)) {
      throw new IllegalArgumentException("textMaskRatio must be in [0, 1), got " + ratio);
    }
    if (!MODES.contains(mode)) {
      throw new IllegalArgumentException("textMasking must be one of " + MODES + ", got " + mode);
    }
    int rows = tokens.length;
    int length = rows == 0 ? 0 : tokens[0].length;
    int keep = kept(length, ratio);
    int[][] keptTokens = new int[rows][keep];
    long[][] keptPositions = new long[rows][keep];
    for (int b = 0; b < rows; b++) {
      Random random = rowRandom.apply(b);
      int pool = (int) pooled[b];
      List<Integer> padding = new ArrayList<>();
      List<Integer> text = new ArrayList<>();
      for (int t = 0; t < length; t++) {
        if (t != pool) {
          (mode.equals(PRIORITIZED) && tokens[b][t] == 0 ? padding : text).add(t);
        }
      }
      Collections.shuffle(padding, random);
      Collections.shuffle(text, random);
      // drop from the front of the padding, then of the text: what is left is kept
      List<Integer> dropOrder = new ArrayList<>(padding);
      dropOrder.addAll(text);
      List<Integer> keptHere = new ArrayList<>(dropOrder.subList(length - keep, dropOrder.size()));
      keptHere.add(pool);
      Collections.sort(keptHere);
      for (int k = 0; k < keep; k++) {
        keptPositions[b][k] = keptHere.get(k);
        keptTokens[b][k] = tokens[b][keptHere.get(k)];
      }
    }
    return new Masked(keptTokens, keptPositions);
  }
}
