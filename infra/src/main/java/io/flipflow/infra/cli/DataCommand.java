package io.flipflow.infra.cli;

import io.flipflow.activities.data.emoji.EmojiImporter;
import io.flipflow.activities.data.fashion.FashionMnistImporter;
import io.flipflow.activities.data.npm.NpmPackages;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.ShardCaptions;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
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
    subcommands = {DataCommand.ImportCommand.class, DataCommand.TokenizerCommand.class})
public final class DataCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  @Command(
      name = "tokenizer",
      mixinStandardHelpOptions = true,
      description = {
        "Build a word-level tokenizer.json from the captions of WebDataset shards (img2dataset's"
            + " output as it is): lower-cased words split as HuggingFace's Whitespace"
            + " pre-tokenizer does, the most frequent first, after [PAD] [UNK] <start_of_text>"
            + " <end_of_text>.",
        "Staging finds it beside the shards (the default --to). Samples img2dataset could not"
            + " download are skipped; captions and members are bounded by staging.*; a shard that"
            + " does not read to its end is named and its captions up to there are kept."
      })
  static final class TokenizerCommand implements Runnable {
    @Option(
        names = "--from",
        required = true,
        description = "The shards: s3://bucket/prefix/ or s3://bucket/p/{00000..00099}.tar")
    String from;

    @Option(
        names = "--to",
        description = "Where to write it (default: tokenizer.json beside the shards).")
    String to;

    @Option(
        names = "--preset",
        defaultValue = "vit-b-16",
        description =
            "The model preset the tokenizer is for: the vocabulary fills its vocabSize"
                + " (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(
        names = "--max-words",
        description = "Words kept, at most (default: the preset's vocabSize minus 4 specials).")
    Integer maxWords;

    @Option(
        names = "--min-count",
        defaultValue = "2",
        description = "Uses a word needs to be kept (default: ${DEFAULT-VALUE}).")
    int minCount;

    @Override
    public void run() {
      FlipflowConfig config = FlipflowCommand.config();
      S3Uri source = S3Uri.parse(from);
      S3Uri target =
          to != null
              ? S3Uri.parse(to)
              : (source.isBracePattern() ? source.parent() : source).resolve("tokenizer.json");
      int vocab = io.flipflow.activities.model.ModelPreset.load(preset).vocabSize();
      int words = maxWords != null ? maxWords : vocab - WordLevelVocabulary.SPECIALS.size();
      if (words < 1 || words + WordLevelVocabulary.SPECIALS.size() > vocab) {
        throw new IllegalArgumentException(
            "--max-words: "
                + words
                + " words and 4 specials do not fit preset "
                + preset
                + "'s vocabSize "
                + vocab);
      }
      if (minCount < 1) {
        throw new IllegalArgumentException("--min-count: must be at least 1, got " + minCount);
      }
      long started = System.nanoTime();
      try (S3Store store = S3Store.create(Services.s3(config));
          WordLevelVocabulary.Counter counter = new WordLevelVocabulary.Counter()) {
        long[] read = {0};
        ShardCaptions.Summary r =
            ShardCaptions.read(
                store,
                source,
                io.flipflow.infra.worker.WorkerRegistrations.stagingLimits(config),
                counter::add,
                shard -> {
                  if (++read[0] % 100 == 0) {
                    System.out.printf(
                        "%d shards, %d captions, %d distinct words%n",
                        read[0], counter.texts(), counter.distinctWords());
                  }
                });
        byte[] json = counter.tokenizerJson(words, minCount);
        int kept;
        try (CaptionTokenizer t = CaptionTokenizer.load(json, 77, target.toString())) {
          kept = t.vocabSize();
        }
        store.put(target, json);
        System.out.printf(
            "wrote %s: %d tokens (%d words used at least %d times, of %d distinct) from %d"
                + " captions in %d shards; %d samples not downloaded and %d without a usable"
                + " caption skipped; %.1f s%n",
            target,
            kept,
            kept - WordLevelVocabulary.SPECIALS.size(),
            minCount,
            counter.distinctWords(),
            r.captions(),
            r.shards(),
            r.notDownloaded(),
            r.skipped(),
            (System.nanoTime() - started) / 1e9);
        if (counter.droppedWords() > 0) {
          System.out.printf(
              "%d rare distinct words were dropped to bound memory (over %d held)%n",
              counter.droppedWords(), WordLevelVocabulary.MAX_DISTINCT_WORDS);
        }
        for (String lost : r.lostShards()) {
          System.out.println("shard not read to its end: " + lost);
        }
      }
    }
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
