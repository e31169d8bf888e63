package io.flipflow.infra.cli;

import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.checkpoint.CheckpointStore;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.interop.ModelFolders;
import io.flipflow.activities.interop.OpenClipExport;
import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.Services;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code flipflow export}: a checkpoint as an OpenCLIP model folder (issue 16). */
@Command(
    name = "export",
    mixinStandardHelpOptions = true,
    description = {
      "Export a checkpoint as an OpenCLIP local-dir model: open_clip_config.json,"
          + " open_clip_model.safetensors (OpenCLIP's names and layouts) and the HF tokenizer"
          + " files, loadable offline with open_clip.create_model_and_transforms('local-dir:DIR')"
          + " and evaluated by CLIP_benchmark with --model local-dir:DIR.",
      "Presets OpenCLIP cannot express exactly (no class token, flipflow's first sin-cos table,"
          + " last-non-pad text pooling: checkpoints from before issue 16) are refused, naming"
          + " the field."
    })
public final class ExportCommand implements Runnable {
  @Option(
      names = "--checkpoint",
      required = true,
      description = "s3://.../step-N.tar, or a checkpoint folder on local disk")
  String checkpoint;

  @Option(
      names = "--format",
      defaultValue = "open_clip",
      description = "Target format; open_clip (the default) is the only one.")
  String format;

  @Option(
      names = "--out",
      required = true,
      description = "A local folder, or an s3:// prefix the folder's files are uploaded under")
  String out;

  @Option(
      names = "--tokenizer",
      description =
          "tokenizer.json (file or s3://) for a checkpoint that does not carry one (written"
              + " before checkpoints did)")
  String tokenizer;

  @Override
  public void run() {
    if (!format.equals("open_clip")) {
      throw new IllegalArgumentException("--format: '" + format + "' is not open_clip");
    }
    FlipflowConfig config = FlipflowCommand.config();
    boolean needsS3 =
        checkpoint.startsWith("s3://")
            || out.startsWith("s3://")
            || (tokenizer != null && tokenizer.startsWith("s3://"));
    try (S3Store store = needsS3 ? S3Store.create(Services.s3(config)) : null) {
      Path work = Files.createTempDirectory(Files.createDirectories(config.stateDir()), "export-");
      try {
        Path dir;
        if (checkpoint.startsWith("s3://")) {
          dir = new CheckpointStore(store).download(S3Uri.parse(checkpoint), work.resolve("ckpt"));
        } else {
          dir = Path.of(checkpoint);
        }
        byte[] tokenizerJson = tokenizer == null ? null : ModelFolders.read(store, tokenizer);
        Path target = out.startsWith("s3://") ? work.resolve("open_clip") : Path.of(out);
        OpenClipExport.Result r = OpenClipExport.export(dir, target, tokenizerJson, checkpoint);
        String where = target.toAbsolutePath().toString();
        if (out.startsWith("s3://")) {
          ModelFolders.upload(store, target, S3Uri.parse(out));
          where = out;
        }
        System.out.println("exported " + r.modelName() + " to " + where + ": " + r.files());
        if (!out.startsWith("s3://")) {
          System.out.println(
              "use it: python -c \"import open_clip; m, _, pre ="
                  + " open_clip.create_model_and_transforms('local-dir:"
                  + where
                  + "'); tok = open_clip.get_tokenizer('local-dir:"
                  + where
                  + "')\"");
          System.out.println(
              "evaluate it: clip_benchmark eval --model local-dir:"
                  + where
                  + " --pretrained none --dataset wds/NAME --dataset_root DIR --task"
                  + " zeroshot_classification --no_amp");
        }
      } finally {
        CheckpointDir.deleteRecursively(work);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
