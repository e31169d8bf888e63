package io.flipflow.infra.cli;

import com.google.gson.GsonBuilder;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.checkpoint.CheckpointStore;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.interop.ModelFolders;
import io.flipflow.activities.interop.OpenClipImport;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.Services;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code flipflow import}: an OpenCLIP model as a checkpoint a run can start from (issue 16). */
@Command(
    name = "import",
    mixinStandardHelpOptions = true,
    description = {
      "Import an OpenCLIP model (a local-dir folder: open_clip_config.json, weights in"
          + " safetensors, tokenizer.json; or a state dict with --model-config) as a flipflow"
          + " checkpoint, so that a run spec's initFrom starts pretraining or tuning from it with"
          + " masking (fresh optimizer, step 0).",
      "Unsupported parts (timm or ResNet towers, attentional pooling, layer scale, qk-norm,"
          + " QuickGELU, HF text towers, ...) are refused naming the config key; a preset"
          + " flipflow does not ship is written to config/models/NAME.json for run specs to name."
    })
public final class ImportCommand implements Runnable {
  @Option(
      names = "--from",
      arity = "2",
      required = true,
      paramLabel = "FORMAT LOCATION",
      description = "open_clip and a local folder or s3:// prefix")
  List<String> from;

  @Option(
      names = "--to",
      required = true,
      description =
          "s3://.../NAME.tar for the checkpoint (an s3:// prefix gets NAME.tar under it), or a"
              + " local folder")
  String to;

  @Option(
      names = "--model-config",
      description =
          "OpenCLIP config (open_clip_config.json or a bare model_cfg) instead of the"
              + " folder's")
  Path modelConfig;

  @Option(
      names = "--tokenizer",
      description = "tokenizer.json (file or s3://) instead of the" + " folder's")
  String tokenizer;

  @Option(
      names = "--name",
      description = "Preset name for a shape flipflow does not ship (default: the folder's name)")
  String name;

  @Option(
      names = "--preset-dir",
      description = "Where to write that preset (default: the project's config/models)")
  Path presetDir;

  @Option(
      names = "--tokenizer-to",
      description =
          "Also copy the model's tokenizer.json here (s3://.../tokenizer.json beside training"
              + " shards: data for this model must be tokenized with it)")
  String tokenizerTo;

  @Override
  public void run() {
    if (!from.get(0).equals("open_clip")) {
      throw new IllegalArgumentException("--from: format '" + from.get(0) + "' is not open_clip");
    }
    String source = from.get(1);
    FlipflowConfig config = FlipflowCommand.config();
    boolean needsS3 =
        source.startsWith("s3://")
            || to.startsWith("s3://")
            || (tokenizer != null && tokenizer.startsWith("s3://"))
            || tokenizerTo != null;
    try (S3Store store = needsS3 ? S3Store.create(Services.s3(config)) : null) {
      Path work = Files.createTempDirectory(Files.createDirectories(config.stateDir()), "import-");
      try {
        Path dir =
            source.startsWith("s3://")
                ? ModelFolders.download(store, S3Uri.parse(source), work.resolve("open_clip"))
                : Path.of(source);
        String presetName =
            name != null
                ? name
                : source.startsWith("s3://") ? S3Uri.parse(source).fileName() : null;
        byte[] tokenizerJson = tokenizer == null ? null : ModelFolders.read(store, tokenizer);
        Path checkpoint = to.startsWith("s3://") ? work.resolve("checkpoint") : Path.of(to);
        OpenClipImport.Result r =
            OpenClipImport.importModel(dir, modelConfig, tokenizerJson, presetName, checkpoint);
        ModelPreset preset = r.preset();
        String where = checkpoint.toAbsolutePath().toString();
        if (to.startsWith("s3://")) {
          S3Uri target =
              to.endsWith(".tar")
                  ? S3Uri.parse(to)
                  : S3Uri.parse(to).resolve(preset.name() + ".tar");
          new CheckpointStore(store).upload(checkpoint, target);
          where = target.toString();
        }
        System.out.println(
            "imported "
                + dir
                + " as preset "
                + preset.name()
                + " ("
                + preset.parameterCount()
                + " parameters): "
                + where);
        if (!r.builtIn()) {
          Path presets =
              presetDir != null ? presetDir : FlipflowCommand.projectDir().resolve("config/models");
          Path file = presets.resolve(preset.name() + ".json");
          String json = new GsonBuilder().setPrettyPrinting().create().toJson(preset) + "\n";
          if (Files.exists(file) && !ModelPreset.load(file.toString()).equals(preset)) {
            throw new IllegalArgumentException(
                file + " exists with another shape; give the import another --name");
          }
          Files.createDirectories(presets);
          Files.writeString(file, json);
          System.out.println(
              "preset written to "
                  + file
                  + " (./flipflow rebuilds its jar with it; workers"
                  + " elsewhere need the file too)");
        }
        if (tokenizerTo != null) {
          store.put(
              S3Uri.parse(tokenizerTo),
              Files.readAllBytes(checkpoint.resolve(CheckpointDir.TOKENIZER)));
          System.out.println("tokenizer: " + tokenizerTo);
        }
        System.out.println(
            "start a run from it: \"modelPreset\": \""
                + preset.name()
                + "\", \"initFrom\": \""
                + where
                + "\" in the run spec; its data must be tokenized with the model's"
                + " tokenizer.json (SHA-256 "
                + r.tokenizerSha256()
                + ")");
      } finally {
        CheckpointDir.deleteRecursively(work);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
