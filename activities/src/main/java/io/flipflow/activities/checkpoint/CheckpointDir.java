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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A checkpoint on local disk ({@code <root>/step-000000123/}): {@code model.safetensors} (the
 * weights under {@link ClipModel#namedParameters()}'s names), {@code optimizer.bin} (AdamW moments;
 * absent in an imported model), {@code tokenizer.json} (when the data's tokenizer is known), {@code
 * state.json} (preset, preprocessing, training state, origin). Checkpoints written before
 * safetensors hold {@code weights.params} (DJL's parameter format) instead and still load. A
 * checkpoint is written to a temporary sibling and renamed into place, so a crash never leaves a
 * half one.
 */
public final class CheckpointDir {

  public static final String WEIGHTS = "model.safetensors";
  public static final String LEGACY_WEIGHTS = "weights.params";
  public static final String OPTIMIZER = "optimizer.bin";
  public static final String STATE = "state.json";
  public static final String TOKENIZER = "tokenizer.json";

  /** Table 1f's decoder, beside the model and never in it: only training reads it. */
  public static final String DECODER = "decoder.safetensors";

  static final Gson GSON =
      new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create();

  /** Writes one part of a checkpoint (the optimizer state) to a stream. */
  @FunctionalInterface
  public interface PartWriter {
    void write(DataOutputStream out) throws IOException;
  }

  private CheckpointDir() {}

  public static Path directoryFor(Path root, long step) {
    return root.resolve(String.format("step-%09d", step));
  }

  /**
   * Writes a complete checkpoint under {@code root} for {@code state.step()}; returns its path.
   *
   * @param optimizer null for none (a model that is not being trained)
   * @param tokenizerJson the tokenizer's bytes, or null when unknown (state.json may still name it:
   *     {@link CheckpointStore#upload} then fetches it)
   */
  public static Path write(
      Path root,
      CheckpointState state,
      ClipModel model,
      PartWriter optimizer,
      byte[] tokenizerJson) {
    Path target = directoryFor(root, state.step());
    Path temporary = root.resolve(target.getFileName() + ".tmp");
    try {
      Files.createDirectories(root);
      if (Files.exists(temporary)) {
        deleteRecursively(temporary);
      }
      writeInto(temporary, state, model, optimizer, tokenizerJson);
      if (Files.exists(target)) {
        deleteRecursively(target);
      }
      Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint: cannot write " + target, e);
    }
  }

  /** Writes the files of a checkpoint into {@code dir} (created), no rename. */
  public static void writeInto(
      Path dir, CheckpointState state, ClipModel model, PartWriter optimizer, byte[] tokenizerJson)
      throws IOException {
    Files.createDirectories(dir);
    saveWeightsFile(model, dir.resolve(WEIGHTS));
    if (model.hasDecoder()) {
      saveTensors(model, model.decoderWeightShapes(), dir.resolve(DECODER));
    }
    if (optimizer != null) {
      try (DataOutputStream out = create(dir.resolve(OPTIMIZER))) {
        optimizer.write(out);
      }
    }
    CheckpointState written = state.current();
    if (tokenizerJson != null) {
      Files.write(dir.resolve(TOKENIZER), tokenizerJson);
      String sha = sha256(tokenizerJson);
      String source = written.tokenizer() == null ? null : written.tokenizer().source();
      written = written.withTokenizer(new CheckpointState.TokenizerRef(sha, source));
    }
    Files.writeString(dir.resolve(STATE), GSON.toJson(written));
  }

  /**
   * The model's weights as safetensors, under their stable names; no {@code __metadata__}, which
   * DJL's own safetensors decoder does not take (state.json names the preset).
   */
  public static void saveWeightsFile(ClipModel model, Path file) throws IOException {
    saveTensors(model, model.weightShapes(), file);
  }

  private static void saveTensors(ClipModel model, Map<String, long[]> shapes, Path file)
      throws IOException {
    Map<String, SafeTensors.FloatTensor> tensors = new LinkedHashMap<>();
    shapes.forEach(
        (name, shape) ->
            tensors.put(name, new SafeTensors.FloatTensor(shape, model.weightValues(name))));
    SafeTensors.write(file, tensors, Map.of("format", "flipflow", "preset", model.preset().name()));
  }

  /**
   * Loads safetensors weights into {@code model}: every weight must be there at its shape and
   * nothing else; a mismatch names the file, the tensor and both shapes.
   */
  public static void loadWeightsFile(ClipModel model, Path file) {
    loadTensors(model, model.weightShapes(), file);
  }

  private static void loadTensors(ClipModel model, Map<String, long[]> wanted, Path file) {
    try (SafeTensors.Reader reader = SafeTensors.open(file)) {
      List<String> extra = new ArrayList<>();
      for (String name : reader.entries().keySet()) {
        if (!wanted.containsKey(name)) {
          extra.add(name);
        }
      }
      List<String> missing = new ArrayList<>();
      for (String name : wanted.keySet()) {
        if (!reader.entries().containsKey(name)) {
          missing.add(name);
        }
      }
      if (!missing.isEmpty() || !extra.isEmpty()) {
        throw new IllegalArgumentException(
            file
                + " does not fit preset "
                + model.preset().name()
                + (missing.isEmpty() ? "" : ": missing " + missing)
                + (extra.isEmpty() ? "" : ": not in the preset " + extra));
      }
      for (Map.Entry<String, long[]> w : wanted.entrySet()) {
        SafeTensors.Entry e = reader.entries().get(w.getKey());
        if (!Arrays.equals(e.shape(), w.getValue())) {
          throw new IllegalArgumentException(
              file
                  + ": tensor "
                  + w.getKey()
                  + " is "
                  + e.shapeText()
                  + " but preset "
                  + model.preset().name()
                  + " has "
                  + Arrays.toString(w.getValue()));
        }
        model.setWeight(w.getKey(), e.shape(), reader.floats(w.getKey()));
      }
    }
  }

  /** Loads a checkpoint folder's weights into {@code model}, whichever format they are in. */
  public static void loadWeights(Path dir, ClipModel model) {
    CheckpointState state = readState(dir);
    if (state.format() == CheckpointState.FORMAT_DJL) {
      try (DataInputStream in = open(dir, LEGACY_WEIGHTS)) {
        model.load(in);
      } catch (IOException e) {
        throw new UncheckedIOException("checkpoint: cannot read " + dir.resolve(LEGACY_WEIGHTS), e);
      }
    } else {
      loadWeightsFile(model, dir.resolve(WEIGHTS));
    }
    if (model.hasDecoder()) {
      Path decoder = dir.resolve(DECODER);
      if (!Files.isRegularFile(decoder)) {
        throw new IllegalArgumentException(
            "checkpoint: "
                + decoder
                + " does not exist, but the run trains a reconstruction decoder (Table 1f)");
      }
      loadTensors(model, model.decoderWeightShapes(), decoder);
    }
  }

  /**
   * The checkpoint's tokenizer.json bytes, checked against the SHA-256 state.json records; empty
   * when the checkpoint carries none.
   */
  public static Optional<byte[]> tokenizer(Path dir) {
    Path file = dir.resolve(TOKENIZER);
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    try {
      byte[] bytes = Files.readAllBytes(file);
      CheckpointState.TokenizerRef ref = readState(dir).tokenizer();
      if (ref != null && ref.sha256() != null && !ref.sha256().equalsIgnoreCase(sha256(bytes))) {
        throw new IllegalArgumentException(
            "checkpoint: "
                + file
                + " has SHA-256 "
                + sha256(bytes)
                + " but state.json records "
                + ref.sha256());
      }
      return Optional.of(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint: cannot read " + file, e);
    }
  }

  /** Hex SHA-256 of {@code bytes}. */
  public static String sha256(byte[] bytes) {
    try {
      return java.util.HexFormat.of()
          .formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
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

  /**
   * Reads and checks {@code state.json} and that the weights it implies are there; a missing or
   * broken checkpoint, an unknown format or a preset that does not validate is bad input, named
   * with the file.
   */
  public static CheckpointState readState(Path dir) {
    Path file = dir.resolve(STATE);
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("checkpoint: " + file + " does not exist");
    }
    CheckpointState state;
    try {
      state = GSON.fromJson(Files.readString(file), CheckpointState.class);
    } catch (JsonParseException e) {
      throw new IllegalArgumentException("checkpoint: " + file + " is not valid JSON: " + e, e);
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint: cannot read " + file, e);
    }
    if (state == null
        || (state.format() != CheckpointState.FORMAT
            && state.format() != CheckpointState.FORMAT_DJL)) {
      throw new IllegalArgumentException(
          "checkpoint: "
              + file
              + " has an unknown format"
              + (state == null ? "" : " " + state.format())
              + " (this flipflow reads "
              + CheckpointState.FORMAT_DJL
              + " and "
              + CheckpointState.FORMAT
              + ")");
    }
    if (state.preset() == null) {
      throw new IllegalArgumentException(
          "checkpoint: "
              + file
              + " names preset '"
              + state.presetName()
              + "' but does not hold its shape (\"preset\"), so it is of an unknown preset");
    }
    try {
      state.preset().validate();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "checkpoint: " + file + " is of an unknown or invalid preset: " + e.getMessage(), e);
    }
    String weights = state.format() == CheckpointState.FORMAT_DJL ? LEGACY_WEIGHTS : WEIGHTS;
    if (!Files.isRegularFile(dir.resolve(weights))) {
      throw new IllegalArgumentException("checkpoint: " + dir.resolve(weights) + " does not exist");
    }
    return state;
  }

  /** Opens one part of a checkpoint for reading; a missing part is bad input, named. */
  public static DataInputStream open(Path dir, String part) throws IOException {
    Path file = dir.resolve(part);
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(
          "checkpoint: "
              + file
              + " does not exist"
              + (part.equals(OPTIMIZER)
                  ? " (an imported model has no optimizer state: start a run from it with initFrom)"
                  : ""));
    }
    return new DataInputStream(new BufferedInputStream(Files.newInputStream(file)));
  }

  /**
   * The model of a checkpoint for inference on {@code device}: its preset and weights, no optimizer
   * state and no training config. The caller closes it.
   */
  public static ClipModel loadModel(Path dir, Device device) {
    CheckpointState state = readState(dir);
    ClipModel model = ClipModel.createOn(state.preset(), device, 0);
    try {
      loadWeights(dir, model);
      return model;
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
