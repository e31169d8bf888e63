package io.flipflow.activities.interop;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.checkpoint.CheckpointState;
import io.flipflow.activities.checkpoint.SafeTensors;
import io.flipflow.activities.device.Devices;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.ModelPreset;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * An OpenCLIP model folder ({@code local-dir:} layout: {@code open_clip_config.json}, weights in
 * safetensors, the HF tokenizer files), or a bare state dict with a model config, to a flipflow
 * checkpoint folder: weights in flipflow's names, the preset the config describes, the tokenizer,
 * no optimizer state (a run starts from it with a fresh optimizer at step 0: {@code initFrom}).
 *
 * <p>Weights are read from safetensors only: a PyTorch pickle ({@code .bin}, {@code .pth}) is
 * refused with the one-line conversion, since unpickling is code execution and Java has no reader.
 */
public final class OpenClipImport {
  /** OpenCLIP's own preference among weight files in a folder (factory._find_checkpoint_in_dir). */
  static final List<String> WEIGHT_FILES =
      List.of(
          "open_clip_model.safetensors",
          "open_clip_pytorch_model.safetensors",
          "model.safetensors");

  /**
   * What an import made.
   *
   * @param builtIn whether the preset is one of flipflow's own (then a run spec names it as is)
   */
  public record Result(
      Path checkpoint, ModelPreset preset, boolean builtIn, String tokenizerSha256) {}

  private OpenClipImport() {}

  /**
   * Imports {@code dir} into the checkpoint folder {@code out}.
   *
   * @param configFile an OpenCLIP config to use instead of {@code dir/open_clip_config.json} (a
   *     full one or a bare model_cfg, as open_clip's {@code model_configs/*.json}); null for none
   * @param tokenizerJson a tokenizer.json to use instead of the folder's; null for none
   * @param name the preset name for a shape flipflow does not ship; null: the folder's name
   */
  public static Result importModel(
      Path dir, Path configFile, byte[] tokenizerJson, String name, Path out) {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("import: " + dir + " is not a folder");
    }
    Path config = configFile != null ? configFile : dir.resolve(OpenClipExport.CONFIG);
    if (!Files.isRegularFile(config)) {
      throw new IllegalArgumentException(
          "import: "
              + config
              + " does not exist; an OpenCLIP local-dir model has one (or give --model-config)");
    }
    JsonObject json;
    try {
      json = JsonParser.parseString(Files.readString(config)).getAsJsonObject();
    } catch (IOException e) {
      throw new UncheckedIOException("import: cannot read " + config, e);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("import: " + config + " is not a JSON object: " + e, e);
    }
    String presetName =
        name != null ? name : sanitize(dir.toAbsolutePath().getFileName().toString());
    ModelPreset preset = OpenClipConfig.fromOpenClip(json, presetName, config.toString());
    OpenClipConfig.checkPreprocess(json, preset, config.toString());
    boolean builtIn = false;
    for (String known : ModelPreset.BUILT_IN) {
      ModelPreset shipped = ModelPreset.load(known);
      if (shipped.withName(presetName).equals(preset)) {
        preset = shipped;
        builtIn = true;
        break;
      }
    }

    byte[] tokenizer = tokenizerJson;
    String tokenizerSource = "the --tokenizer file";
    if (tokenizer == null) {
      Path file = dir.resolve("tokenizer.json");
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException(
            "import: "
                + dir
                + " has no tokenizer.json"
                + (json.toString().contains("hf_tokenizer_name")
                    ? ""
                    : " (text_cfg.hf_tokenizer_name is not set: the model uses OpenCLIP's built-in"
                        + " CLIP BPE tokenizer)")
                + "; give its tokenizer.json with --tokenizer");
      }
      try {
        tokenizer = Files.readAllBytes(file);
      } catch (IOException e) {
        throw new UncheckedIOException("import: cannot read " + file, e);
      }
      tokenizerSource = file.toString();
    }
    HfTokenizerFiles.checkFits(tokenizer, preset, tokenizerSource);

    Path weights = weightsFile(dir);
    try (SafeTensors.Reader reader = SafeTensors.open(weights);
        ClipModel model = ClipModel.createOn(preset, Devices.cpu(), 0)) {
      OpenClipWeights.fromOpenClip(model, reader);
      CheckpointState state =
          new CheckpointState(
              CheckpointState.FORMAT,
              preset.name(),
              preset,
              null,
              0,
              0,
              0,
              0,
              CheckpointState.RNG_SCHEME,
              0,
              Float.NaN,
              null,
              CheckpointState.Preprocess.of(preset),
              new CheckpointState.TokenizerRef(CheckpointDir.sha256(tokenizer), tokenizerSource),
              "open_clip:" + dir.toAbsolutePath().normalize(),
              null);
      CheckpointDir.writeInto(out, state, model, null, tokenizer);
    } catch (IOException e) {
      throw new UncheckedIOException("import: cannot write " + out, e);
    }
    return new Result(out, preset, builtIn, CheckpointDir.sha256(tokenizer));
  }

  /** The weights file OpenCLIP would pick, in safetensors; pickles are refused with the fix. */
  static Path weightsFile(Path dir) {
    for (String name : WEIGHT_FILES) {
      if (Files.isRegularFile(dir.resolve(name))) {
        return dir.resolve(name);
      }
    }
    List<Path> safetensors;
    List<Path> pickles;
    try (Stream<Path> s = Files.list(dir)) {
      List<Path> all = s.sorted().toList();
      safetensors = all.stream().filter(p -> p.toString().endsWith(".safetensors")).toList();
      pickles =
          all.stream()
              .filter(p -> p.toString().endsWith(".bin") || p.toString().endsWith(".pth"))
              .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("import: cannot list " + dir, e);
    }
    if (safetensors.size() == 1) {
      return safetensors.get(0);
    }
    if (safetensors.size() > 1) {
      throw new IllegalArgumentException(
          "import: " + dir + " holds several weight files " + safetensors + "; keep one");
    }
    if (!pickles.isEmpty()) {
      throw new IllegalArgumentException(
          "import: "
              + pickles.get(0)
              + " is a PyTorch pickle, which flipflow does not read (unpickling runs code); convert"
              + " it once: python -c \"import torch, safetensors.torch as s;"
              + " d = torch.load('"
              + pickles.get(0).getFileName()
              + "', map_location='cpu'); d = d.get('state_dict', d);"
              + " s.save_file({k.removeprefix('module.'): v.contiguous() for k, v in d.items()},"
              + " 'open_clip_model.safetensors')\"");
    }
    throw new IllegalArgumentException(
        "import: "
            + dir
            + " holds no weights (open_clip_model.safetensors or another .safetensors)");
  }

  static String sanitize(String name) {
    String s = name.replaceAll("[^A-Za-z0-9._-]", "-").replaceAll("^[^A-Za-z0-9]+", "");
    return s.isEmpty() ? "imported" : s;
  }
}
