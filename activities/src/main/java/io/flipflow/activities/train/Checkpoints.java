package io.flipflow.activities.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Checkpoint directories on local disk ({@code <root>/step-000000123/}): {@code weights.params}
 * (DJL parameter format), {@code optimizer.bin} (AdamW moments), {@code state.json}. A checkpoint
 * is written to a temporary sibling and renamed into place, so a crash never leaves a half one.
 */
public final class Checkpoints {

  public static final String WEIGHTS = "weights.params";
  public static final String OPTIMIZER = "optimizer.bin";
  public static final String STATE = "state.json";

  static final Gson GSON =
      new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create();

  private Checkpoints() {}

  public static Path directoryFor(Path root, long step) {
    return root.resolve(String.format("step-%09d", step));
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

  /** Moves a fully written temporary directory into its final place. */
  static void publish(Path temporary, Path target) throws IOException {
    if (Files.exists(target)) {
      deleteRecursively(target);
    }
    Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
  }

  public static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
