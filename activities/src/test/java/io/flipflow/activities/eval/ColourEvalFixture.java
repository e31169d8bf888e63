package io.flipflow.activities.eval;

import io.flipflow.activities.checkpoint.CheckpointStore;
import io.flipflow.activities.data.Fixtures;
import io.flipflow.activities.data.eval.EvalSetWriter;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.model.TestPresets;
import io.flipflow.activities.train.ClipTrainer;
import io.flipflow.workflows.plan.TrainConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What an evaluation activity test needs in S3 under {@code bucket}: {@code tokenizer.json} for "a
 * COLOUR square", a classification set {@code eval/} of {@code images} single-colour squares (the
 * four colours in turn), and an untrained micro checkpoint {@code ckpt/step-000000000.tar}.
 */
final class ColourEvalFixture {
  private ColourEvalFixture() {}

  /** A classification set of {@code images} colour squares at {@code folder}, of {@code split}. */
  static void writeSet(S3Store store, S3Uri folder, String split, int images) {
    List<EvalSetWriter.Item> items = new ArrayList<>();
    for (int i = 0; i < images; i++) {
      int c = i % 4;
      String colour = Fixtures.COLOURS.get(c);
      items.add(
          new EvalSetWriter.Item(
              String.format("e%04d", i),
              Fixtures.png(8, 8, Fixtures.colour(colour)),
              colour,
              c,
              Map.of()));
    }
    EvalSetWriter.writeClassification(
        store, folder, "colours", split, Fixtures.COLOURS, List.of("a {c} square"), items, 200);
  }

  /** Writes it all and returns the checkpoint's URI. */
  static S3Uri write(S3Store store, String bucket, int images, String split, Path work)
      throws Exception {
    store.createBucket(bucket);
    S3Uri b = S3Uri.parse("s3://" + bucket + "/");
    List<String> texts = new ArrayList<>();
    Fixtures.COLOURS.forEach(c -> texts.add("a " + c + " square"));
    store.put(b.resolve("tokenizer.json"), WordLevelVocabulary.build(texts));
    writeSet(store, b.resolve("eval/"), split, images);
    TrainConfig config =
        new TrainConfig(
            "test-micro",
            0,
            4,
            1,
            1e-3,
            0,
            0,
            0.9,
            0.95,
            1e-6,
            0,
            1,
            1,
            1,
            null,
            null,
            null,
            null,
            null);
    Path local;
    try (ClipTrainer trainer = ClipTrainer.create(config, TestPresets.micro())) {
      local = trainer.saveCheckpoint(work.resolve("ckpt"));
    }
    S3Uri uri = b.resolve("ckpt/step-000000000.tar");
    new CheckpointStore(store).upload(local, uri);
    return uri;
  }
}
