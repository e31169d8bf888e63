package io.flipflow.activities.checkpoint;

import ai.djl.Device;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import io.flipflow.activities.model.ClipModel;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A checkpoint on local disk ({@code <root>/step-000000123/}): {@code weights.params} (DJL
 * parameter format), {@code optimizer.bin} (AdamW moments), {@code state.json}. A checkpoint is
 * written to a temporary sibling and renamed into place, so a crash never leaves a half one.
 */
public final class CheckpointDir {

  public static final String WEIGHTS = "weights.params";
  public static final String OPTIMIZER = "optimizer.bin";
  public static final String STATE = "state.json";

  static final Gson GSON =
      new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create();

  /** Writes one part of a checkpoint (the weights, the optimizer state) to a stream. */
  @FunctionalInterface
  public interface PartWriter {
    void write(DataOutputStream out) throws IOException;
  }

  private CheckpointDir() {}

  public static Path directoryFor(Path root, long step) {
    return root.resolve(String.format("step-%09d", step));
  }

  /** Writes a complete checkpoint under {@code root} for {@code state.step()}; returns its path. */
  public static Path write(
      Path root, CheckpointState state, PartWriter weights, PartWriter optimizer) {
    Path target = directoryFor(root, state.step());
    Path temporary = root.resolve(target.getFileName() + ".tmp");
    try {
      Files.createDirectories(root);
      if (Files.exists(temporary)) {
        deleteRecursively(temporary);
      }
      Files.createDirectories(temporary);
      try (DataOutputStream out = create(temporary.resolve(WEIGHTS))) {
        weights.write(out);
      }
      try (DataOutputStream out = create(temporary.resolve(OPTIMIZER))) {
        optimizer.write(out);
      }
      Files.writeString(temporary.resolve(STATE), GSON.toJson(state));
      if (Files.exists(target)) {
        deleteRecursively(target);
      }
      Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint: cannot write " + target, e);
    }
  }

  /** The newest complete checkpoint under {@code root}, if any. */
  public static Optional<Path> latest(Path root) {
    if (!Files.isDirectory(root)) {
      return Optional.empty();
    }
    try (Stream<Path> dirs = Files.list(root)) {
      return dirs.filter(d -> d.getFileName().toString().matches("step-\\d{9}"))
          .filter(d -> Files.isRegularFile(d.resolve(STATE)))
          .max(Comparator.comparing(d -> d.getFileName().toString()));
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint: cannot list " + root, e);
    }
  }

  /** Reads and checks {@code state.json}; a missing or broken checkpoint is bad input. */
  public static CheckpointState readState(Path dir) {
    Path file = dir.resolve(STATE);
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("checkpoint: " + file + " does not exist");
    }
    for (String part : new String[] {WEIGHTS, OPTIMIZER}) {
      if (!Files.isRegularFile(dir.resolve(part))) {
        throw new IllegalArgumentException("checkpoint: " + dir.resolve(part) + " does not exist");
      }
    }
    try {
      CheckpointState state = GSON.fromJson(Files.readString(file), CheckpointState.class);
      if (state == null || state.format() != CheckpointState.FORMAT || state.preset() == null) {
        throw new IllegalArgumentException("checkpoint: " + file + " has an unknown format");
      }
      return state;
    } catch (JsonParseException e) {
      throw new IllegalArgumentException("checkpoint: " + file + " is not valid JSON: " + e, e);
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint: cannot read " + file, e);
    }
  }

  /** Opens one part of a checkpoint for reading. */
  public static DataInputStream open(Path dir, String part) throws IOException {
    return new DataInputStream(new BufferedInputStream(Files.newInputStream(dir.resolve(part))));
  }

  /**
   * The model of a checkpoint for inference on {@code device}: its preset and weights, no optimizer
   * state and no training config. The caller closes it.
   */
  public static ClipModel loadModel(Path dir, Device device) {
    CheckpointState state = readState(dir);
    ClipModel model = ClipModel.createOn(state.preset().validate(), device, 0);
    try (DataInputStream in = open(dir, WEIGHTS)) {
      model.load(in);
      return model;
    } catch (IOException e) {
      model.close();
      throw new UncheckedIOException("checkpoint: cannot read " + dir.resolve(WEIGHTS), e);
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
  }

  public static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static DataOutputStream create(Path file) throws IOException {
    return new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file)));
  }
}
