package io.flipflow.infra.cli;

import io.flipflow.activities.data.emoji.EmojiImporter;
import io.flipflow.activities.data.fashion.FashionMnistImporter;
import io.flipflow.activities.data.npm.NpmPackages;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.Services;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "data",
    mixinStandardHelpOptions = true,
    description = "Import real image-text sets into S3 as img2dataset-style WebDataset shards.",
    subcommands = {DataCommand.ImportCommand.class})
public final class DataCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  @Command(
      name = "import",
      mixinStandardHelpOptions = true,
      description = "Import a data set: emoji (npm packages) or fashion-mnist (Debian package).",
      subcommands = {EmojiImport.class, FashionImport.class})
  public static final class ImportCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      spec.commandLine().usage(System.out);
    }
  }

  @Command(
      name = "emoji",
      mixinStandardHelpOptions = true,
      description = {
        "Emoji images (emoji-datasource-<style>, OpenMoji SVGs rasterised) captioned with Unicode"
            + " CLDR labels and tags (emojibase).",
        "Writes TO/train/{00000..}.tar (seen concepts only), TO/tokenizer.json and zero-shot sets"
            + " TO/eval/{subgroup,group}/{seen,unseen}/ and TO/eval/label-<style>/{seen,unseen}/."
      })
  static final class EmojiImport implements Runnable {
    @Option(
        names = "--style",
        required = true,
        description =
            "An emoji-datasource style (google, twitter, ...) or openmoji; repeat for several,"
                + " which share one training set and tokenizer.")
    List<String> styles;

    @Option(
        names = "--to",
        required = true,
        description = "Target prefix, e.g. s3://flipflow/emoji")
    String to;

    @Option(names = "--shard-size", defaultValue = "1000", description = "Samples per shard.")
    int shardSize;

    @Override
    public void run() {
      FlipflowConfig config = FlipflowCommand.config();
      S3Uri target = S3Uri.parse(to);
      styles.forEach(EmojiImporter::checkStyle);
      NpmPackages npm = NpmPackages.defaultCache();
      Map<String, EmojiImporter.Sources> sources = new LinkedHashMap<>();
      for (String style : styles) {
        sources.put(style, EmojiImporter.Sources.fetch(npm, style));
      }
      try (S3Store store = S3Store.create(Services.s3(config))) {
        EmojiImporter.Result r = new EmojiImporter(store, shardSize).importStyles(sources, target);
        System.out.printf(
            "imported %s: %d training samples in %s (%d held-out concepts' images kept out)%n",
            r.style(), r.trainSamples(), r.trainShards(), r.heldOutImages());
        System.out.println("tokenizer: " + r.tokenizer());
        r.evalSets()
            .forEach(
                (name, uri) ->
                    System.out.printf(
                        "eval set %-24s %s (%d)%n",
                        name, uri, r.evalCounts().getOrDefault(name, 0L)));
        System.out.printf("took %.1f s%n", r.millis() / 1000.0);
      }
    }
  }

  @Command(
      name = "fashion-mnist",
      mixinStandardHelpOptions = true,
      description =
          "Fashion-MNIST from Debian's dataset-fashion-mnist: training shards with prompt captions"
              + " and a 10-class zero-shot set at TO/eval/class/all/.")
  static final class FashionImport implements Runnable {
    @Option(
        names = "--to",
        required = true,
        description = "Target prefix, e.g. s3://flipflow/fashion")
    String to;

    @Option(
        names = "--from",
        description = "Folder with the four .gz IDX files (default: ${DEFAULT-VALUE}).")
    Path from = FashionMnistImporter.DEBIAN_DIR;

    @Option(
        names = "--max-train",
        defaultValue = "0",
        description = "Limit training samples (0: all).")
    int maxTrain;

    @Option(
        names = "--max-eval",
        defaultValue = "0",
        description = "Limit evaluation samples (0: all).")
    int maxEval;

    @Override
    public void run() {
      FlipflowConfig config = FlipflowCommand.config();
      try (S3Store store = S3Store.create(Services.s3(config))) {
        FashionMnistImporter.Result r =
            new FashionMnistImporter(store)
                .importFrom(
                    from,
                    S3Uri.parse(to),
                    new FashionMnistImporter.Options(5000, maxTrain, maxEval));
        System.out.println(r);
      }
    }
  }
}
