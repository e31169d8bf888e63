package io.flipflow.activities.interop;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.checkpoint.CheckpointState;
import io.flipflow.activities.checkpoint.SafeTensors;
import io.flipflow.activities.device.Devices;
import io.flipflow.activities.model.ClipModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A flipflow checkpoint folder to an OpenCLIP {@code local-dir:} model folder:
 *
 * <pre>
 * open_clip_config.json      {"model_cfg": {...}, "preprocess_cfg": {...}}
 * open_clip_model.safetensors   OpenCLIP's names and layouts, float32
 * tokenizer.json, tokenizer_config.json, special_tokens_map.json   (HF tokenizer, offline)
 * flipflow_export.json       where it came from (checkpoint, run, step, tokenizer SHA-256)
 * </pre>
 *
 * so that {@code open_clip.create_model_and_transforms('local-dir:DIR')} and {@code
 * open_clip.get_tokenizer('local-dir:DIR')} load it without network, and CLIP_benchmark evaluates
 * it with {@code --model local-dir:DIR}.
 */
public final class OpenClipExport {
  public static final String CONFIG = "open_clip_config.json";
  public static final String WEIGHTS = "open_clip_model.safetensors";
  public static final String PROVENANCE = "flipflow_export.json";

  /** What an export wrote. */
  public record Result(Path dir, String modelName, List<String> files) {}

  private OpenClipExport() {}

  /**
   * Exports the checkpoint in {@code checkpointDir} into {@code out} (created; files of an earlier
   * export there are replaced).
   *
   * @param tokenizerJson the tokenizer to export with; null to take the checkpoint's own
   * @param checkpointUri where the checkpoint is (for the provenance file), or null
   */
  public static Result export(
      Path checkpointDir, Path out, byte[] tokenizerJson, String checkpointUri) {
    CheckpointState state = CheckpointDir.readState(checkpointDir);
    String name = state.modelName();
    byte[] tokenizer = tokenizerJson;
    String tokenizerSource = "the --tokenizer file";
    if (tokenizer == null) {
      tokenizer =
          CheckpointDir.tokenizer(checkpointDir)
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "checkpoint "
                              + (checkpointUri == null ? checkpointDir : checkpointUri)
                              + " carries no tokenizer.json (written before checkpoints carried"
                              + " one"
                              + (state.tokenizer() == null
                                  ? ""
                                  : "; it was trained with " + state.tokenizer().source())
                              + "): give the tokenizer with --tokenizer"));
      tokenizerSource = checkpointDir.resolve(CheckpointDir.TOKENIZER).toString();
    }
    JsonObject config =
        OpenClipConfig.toOpenClip(state.preset(), state.preprocessOrDefault(), name);
    HfTokenizerFiles.checkFits(tokenizer, state.preset(), tokenizerSource);
    try {
      Files.createDirectories(out);
      try (ClipModel model = CheckpointDir.loadModel(checkpointDir, Devices.cpu())) {
        Map<String, SafeTensors.FloatTensor> weights = OpenClipWeights.toOpenClip(model);
        SafeTensors.write(out.resolve(WEIGHTS), weights, Map.of("format", "pt"));
      }
      Files.writeString(
          out.resolve(CONFIG), new GsonBuilder().setPrettyPrinting().create().toJson(config));
      HfTokenizerFiles.write(out, tokenizer, state.preset().contextLength());
      Map<String, Object> provenance = new LinkedHashMap<>();
      provenance.put("model_name", name);
      provenance.put("checkpoint", checkpointUri);
      provenance.put("preset", state.preset());
      provenance.put("step", state.step());
      provenance.put("samples_seen", state.samplesSeen());
      provenance.put("origin", state.origin());
      provenance.put("imported_from", state.importedFrom());
      provenance.put("tokenizer_sha256", CheckpointDir.sha256(tokenizer));
      provenance.put("preprocess", state.preprocessOrDefault());
      Files.writeString(
          out.resolve(PROVENANCE),
          new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(provenance));
    } catch (IOException e) {
      throw new UncheckedIOException("export: cannot write " + out, e);
    }
    return new Result(
        out,
        name,
        List.of(
            CONFIG,
            WEIGHTS,
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            PROVENANCE));
  }
}
