package io.flipflow.activities.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.device.Devices;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.model.TestPresets;
import io.flipflow.activities.testing.S3Fixture;
import io.flipflow.activities.train.ClipTrainer;
import io.flipflow.activities.train.LoopResult;
import io.flipflow.activities.train.SyntheticBatchSource;
import io.flipflow.workflows.plan.TrainConfig;
import io.flipflow.workflows.plan.TrainConfigBuilder;
import java.io.DataOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoints carry what it takes to use them (issue 16, item 1), and old ones still load. */
class CheckpointFormatTest {

  static ModelPreset micro() {
    return TestPresets.microFlipForm(2);
  }

  static TrainConfig config(long steps) {
    return TrainConfigBuilder.builder()
        .preset("micro-flip")
        .maskRatio(0.5)
        .batchSize(8)
        .totalSteps(steps)
        .baseLearningRate(1e-3)
        .warmupSteps(0)
        .weightDecay(0.05)
        .beta1(0.9)
        .beta2(0.98)
        .epsilon(1e-6)
        .gradClipNorm(1.0)
        .seed(5)
        .checkpointEvery(1000)
        .metricsEvery(1)
        .build();
  }

  @Test
  void aCheckpointIsSafetensorsPlusTokenizerPreprocessingAndOrigin(@TempDir Path dir)
      throws Exception {
    byte[] tokenizer = WordLevelVocabulary.build(List.of("a red square", "a blue circle"));
    Path ckpt;
    float[] trained;
    try (ClipTrainer trainer =
        ClipTrainer.create(config(2), micro()).withTokenizer(tokenizer, "s3://b/tokenizer.json")) {
      LoopResult r = trainer.run(new SyntheticBatchSource(micro(), 16), dir, m -> {}, () -> false);
      ckpt = r.checkpoint();
      trained = trainer.model().weightValues("visual.transformer.resblocks.0.attn.in_proj.weight");
    }
    for (String f :
        List.of(
            CheckpointDir.WEIGHTS,
            CheckpointDir.OPTIMIZER,
            CheckpointDir.TOKENIZER,
            CheckpointDir.STATE)) {
      assertTrue(Files.isRegularFile(ckpt.resolve(f)), f + " missing");
    }
    CheckpointState state = CheckpointDir.readState(ckpt);
    assertEquals(CheckpointState.FORMAT, state.format());
    assertEquals(32, state.preprocess().size());
    assertEquals("bicubic", state.preprocess().interpolation());
    assertEquals("white", state.preprocess().background());
    assertEquals(0.48145466f, state.preprocess().mean()[0]);
    assertEquals(CheckpointDir.sha256(tokenizer), state.tokenizer().sha256());
    assertEquals("s3://b/tokenizer.json", state.tokenizer().source());
    assertArrayEquals(tokenizer, CheckpointDir.tokenizer(ckpt).orElseThrow());

    // any safetensors reader opens it: DJL's own decoder, under the same names
    try (NDManager m = NDManager.newBaseManager();
        InputStream in = Files.newInputStream(ckpt.resolve(CheckpointDir.WEIGHTS))) {
      NDList list = NDList.decode(m, in);
      NDArray w = list.get("visual.transformer.resblocks.0.attn.in_proj.weight");
      assertEquals(new Shape(192, 64), w.getShape());
      assertArrayEquals(trained, w.toFloatArray());
    }
    // and it resumes and loads for inference
    try (ClipTrainer resumed = ClipTrainer.resume(ckpt);
        ClipModel model = CheckpointDir.loadModel(ckpt, Devices.cpu())) {
      assertEquals(2, resumed.step());
      assertArrayEquals(
          trained, model.weightValues("visual.transformer.resblocks.0.attn.in_proj.weight"));
    }
  }

  @Test
  void aCheckpointWrittenBeforeSafetensorsStillLoadsAsItWasTrained(@TempDir Path dir)
      throws Exception {
    ModelPreset legacy = TestPresets.micro();
    Path old = Files.createDirectories(dir.resolve("step-000000007"));
    float[] expected;
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(legacy, root, 9)) {
      try (DataOutputStream out =
          new DataOutputStream(Files.newOutputStream(old.resolve(CheckpointDir.LEGACY_WEIGHTS)))) {
        model.save(out);
      }
      try (NDManager step = root.newSubManager()) {
        expected = model.encodeImages(images(step), 0).toFloatArray();
      }
    }
    Files.write(old.resolve(CheckpointDir.OPTIMIZER), new byte[0]);
    // state.json exactly as checkpoints of format 1 were written (no OpenCLIP preset fields)
    Files.writeString(
        old.resolve(CheckpointDir.STATE),
        """
        {"format": 1, "presetName": "test-micro",
         "preset": {"name": "test-micro", "imageSize": 32, "patchSize": 8, "visionWidth": 64,
           "visionLayers": 2, "visionHeads": 2, "mlpRatio": 2.0, "embedDim": 32, "vocabSize": 32,
           "contextLength": 8, "textWidth": 64, "textLayers": 2, "textHeads": 2,
           "textPooling": "eot"},
         "step": 7, "samplesSeen": 56, "dataPosition": 56, "seed": 9,
         "rngScheme": "engine-seed-per-step:splitmix64(seed,step)", "optimizerUpdates": 7,
         "lastLoss": 2.0}
        """);
    CheckpointState state = CheckpointDir.readState(old);
    assertEquals(CheckpointState.FORMAT_DJL, state.format());
    assertEquals(legacy, state.preset());
    assertEquals(32, state.preprocessOrDefault().size());
    try (ClipModel model = CheckpointDir.loadModel(old, Devices.cpu());
        NDManager step = model.manager().newSubManager()) {
      float[] got = model.encodeImages(images(step), 0).toFloatArray();
      assertArrayEquals(expected, got, 1e-6f);
    }
  }

  private static NDArray images(NDManager m) {
    float[] v = new float[2 * 3 * 32 * 32];
    java.util.Random r = new java.util.Random(7);
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return m.create(v, new Shape(2, 3, 32, 32));
  }

  @Test
  void truncatedWeightsAndUnknownPresetsAreNamed(@TempDir Path dir) throws Exception {
    Path ckpt;
    try (ClipTrainer trainer = ClipTrainer.create(config(1), micro())) {
      ckpt = trainer.saveCheckpoint(dir);
    }
    Path weights = ckpt.resolve(CheckpointDir.WEIGHTS);
    byte[] whole = Files.readAllBytes(weights);
    Files.write(weights, java.util.Arrays.copyOf(whole, whole.length - 1000));
    var truncated =
        assertThrows(
            IllegalArgumentException.class, () -> CheckpointDir.loadModel(ckpt, Devices.cpu()));
    assertTrue(truncated.getMessage().contains(weights.toString()), truncated.getMessage());
    assertTrue(truncated.getMessage().contains("is truncated"), truncated.getMessage());
    Files.write(weights, java.util.Arrays.copyOf(whole, 5));
    var tiny =
        assertThrows(
            IllegalArgumentException.class, () -> CheckpointDir.loadModel(ckpt, Devices.cpu()));
    assertTrue(tiny.getMessage().contains("too short"), tiny.getMessage());
    Files.write(weights, whole);

    Path state = ckpt.resolve(CheckpointDir.STATE);
    String json = Files.readString(state);
    Files.writeString(state, json.replace("\"sin_cos_2d\"", "\"rope\""));
    var rope = assertThrows(IllegalArgumentException.class, () -> CheckpointDir.readState(ckpt));
    assertTrue(rope.getMessage().contains(state.toString()), rope.getMessage());
    assertTrue(rope.getMessage().contains("unknown or invalid preset"), rope.getMessage());
    assertTrue(rope.getMessage().contains("positionEmbedding"), rope.getMessage());

    com.google.gson.JsonObject o = com.google.gson.JsonParser.parseString(json).getAsJsonObject();
    o.remove("preset");
    o.addProperty("presetName", "vit-z-99");
    Files.writeString(state, o.toString());
    var unknown = assertThrows(IllegalArgumentException.class, () -> CheckpointDir.readState(ckpt));
    assertTrue(unknown.getMessage().contains("'vit-z-99'"), unknown.getMessage());
    assertTrue(unknown.getMessage().contains("unknown preset"), unknown.getMessage());
    Files.writeString(state, json);

    // weights of another shape: the tensor and both shapes are named
    ModelPreset wider =
        new ModelPreset(
            "micro-flip",
            32,
            8,
            96,
            2,
            2,
            2.0,
            32,
            32,
            8,
            64,
            2,
            2,
            "eos",
            2,
            true,
            "sin_cos_2d",
            false,
            "avg");
    try (ClipModel other = ClipModel.createOn(wider, Devices.cpu(), 1)) {
      CheckpointDir.saveWeightsFile(other, weights);
    }
    var shape =
        assertThrows(
            IllegalArgumentException.class, () -> CheckpointDir.loadModel(ckpt, Devices.cpu()));
    assertTrue(
        shape.getMessage().contains("visual.conv1.weight is [96, 3, 8, 8]"), shape.getMessage());
    assertTrue(shape.getMessage().contains("[64, 3, 8, 8]"), shape.getMessage());
  }

  @Test
  void uploadCompletesACheckpointWithTheDataTokenizerFromS3(@TempDir Path dir) throws Exception {
    byte[] tokenizer = WordLevelVocabulary.build(List.of("one two three"));
    try (S3Fixture s3 = S3Fixture.start();
        S3Store store = s3.store()) {
      store.createBucket("ckpt");
      S3Uri tokenizerUri = S3Uri.parse("s3://ckpt/data/tokenizer.json");
      store.put(tokenizerUri, tokenizer);
      Path ckpt;
      try (ClipTrainer trainer = ClipTrainer.create(config(1), micro())) {
        ckpt = trainer.saveCheckpoint(dir.resolve("local"));
      }
      // what the trainer writes for staged data: the tokenizer named, not carried
      Path state = ckpt.resolve(CheckpointDir.STATE);
      CheckpointState s =
          CheckpointDir.readState(ckpt)
              .withTokenizer(
                  new CheckpointState.TokenizerRef(
                      CheckpointDir.sha256(tokenizer), tokenizerUri.toString()));
      Files.writeString(state, CheckpointDir.GSON.toJson(s));
      CheckpointStore checkpoints = new CheckpointStore(store);
      CheckpointStore.Stored stored =
          checkpoints.upload(ckpt, S3Uri.parse("s3://ckpt/run/pretrain/attempt-1/step-1.tar"));
      Path back = checkpoints.download(stored.uri(), dir.resolve("back"));
      assertArrayEquals(tokenizer, CheckpointDir.tokenizer(back).orElseThrow());
    }
  }
}
