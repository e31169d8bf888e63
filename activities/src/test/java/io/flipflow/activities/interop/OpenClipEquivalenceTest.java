package io.flipflow.activities.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.device.Devices;
import io.flipflow.activities.eval.ClipImageTextEncoder;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.train.ClipTrainer;
import io.flipflow.activities.train.LoopResult;
import io.flipflow.activities.train.SyntheticBatchSource;
import io.flipflow.workflows.plan.TrainConfig;
import io.flipflow.workflows.plan.TrainConfigBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * flipflow against the real OpenCLIP 3.3 (issue 16, item 4), in both directions, on 32 images and
 * 32 captions: every embedding at cosine >= 0.9999 and every logit within 1e-4, the token rows
 * identical. Each direction also embeds deliberately broken copies of the same model on the
 * OpenCLIP side (a square weight transposed, a LayerNorm dropped) and requires the comparison to
 * fail on them, so a transposition or a lost LayerNorm in the mapping cannot pass unnoticed.
 */
class OpenClipEquivalenceTest {
  static final double MIN_COSINE = 0.9999;
  static final double MAX_LOGIT_DIFF = 1e-4;

  static final List<String> WORDS =
      List.of(
          "an", "emoji", "of", "a", "red", "green", "blue", "cat", "dog", "face", "smiling",
          "heart", "hand", "sun", "moon", "tree", "house", "with", "and", "the");

  static TrainConfig config(String preset, double mask, int batch, long steps) {
    return TrainConfigBuilder.builder()
        .preset(preset)
        .maskRatio(mask)
        .batchSize(batch)
        .totalSteps(steps)
        .baseLearningRate(5e-3)
        .warmupSteps(0)
        .weightDecay(0.05)
        .beta1(0.9)
        .beta2(0.98)
        .epsilon(1e-6)
        .gradClipNorm(1.0)
        .seed(7)
        .checkpointEvery(1000)
        .metricsEvery(1)
        .build();
  }

  @Test
  void aTrainedTinyModelExportedToOpenClipGivesTheSameEmbeddingsAndLogits(@TempDir Path dir)
      throws Exception {
    OpenClipPeer.require();
    ModelPreset preset = ModelPreset.load("tiny-emoji");
    List<String> captions = OpenClipPeer.captions(WORDS, 32, 1);
    List<String> texts = new ArrayList<>(WORDS);
    texts.add("an emoji of a cat.");
    byte[] tokenizer = WordLevelVocabulary.build(texts);
    Path checkpoint;
    try (ClipTrainer trainer =
        ClipTrainer.create(config("tiny-emoji", 0.5, 16, 4), preset)
            .withTokenizer(tokenizer, "test words")) {
      LoopResult r =
          trainer.run(
              new SyntheticBatchSource(preset, 64), dir.resolve("ckpt"), m -> {}, () -> false);
      checkpoint = r.checkpoint();
    }
    OpenClipExport.Result exported =
        OpenClipExport.export(checkpoint, dir.resolve("open_clip"), null, "test://tiny");
    List<Path> images = OpenClipPeer.writeImages(dir.resolve("images"), 32, 64, 11);
    Path captionFile = OpenClipPeer.writeCaptions(dir.resolve("captions.txt"), captions);

    OpenClipPeer.run(
        dir,
        "embed",
        "--model",
        exported.dir().toString(),
        "--images",
        dir.resolve("images").toString(),
        "--captions",
        captionFile.toString(),
        "--out",
        dir.resolve("openclip.json").toString(),
        "--variant",
        "vision_transposed=transpose:visual.transformer.resblocks.0.attn.out_proj.weight",
        "--variant",
        "text_transposed=transpose:transformer.resblocks.1.attn.out_proj.weight",
        "--variant",
        "no_ln_post=drop:visual.ln_post",
        "--variant",
        "no_ln_final=drop:ln_final");
    JsonObject peer = OpenClipPeer.readJson(dir.resolve("openclip.json"));

    try (ClipModel model = CheckpointDir.loadModel(checkpoint, Devices.cpu());
        CaptionTokenizer tok = CaptionTokenizer.load(tokenizer, preset.contextLength(), "test")) {
      compare(
          "flipflow -> OpenCLIP",
          model,
          tok,
          images,
          captions,
          peer,
          Map.of(
              "vision_transposed", "image",
              "text_transposed", "text",
              "no_ln_post", "image",
              "no_ln_final", "text"));
    }
  }

  @Test
  void aRandomOpenClipModelImportedIntoFlipflowGivesTheSameEmbeddingsAndTrainsOnMasked(
      @TempDir Path dir) throws Exception {
    OpenClipPeer.require();
    byte[] tokenizer = WordLevelVocabulary.build(WORDS);
    Path tokDir = Files.createDirectories(dir.resolve("tokenizer"));
    HfTokenizerFiles.write(tokDir, tokenizer, 16);
    // the other half of what the importer supports: learned positions, ln_pre, class-token pooling
    Path config = dir.resolve("config.json");
    Files.writeString(
        config,
        """
        {"model_cfg": {"embed_dim": 48, "quick_gelu": false,
          "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 64, "head_width": 32,
                         "layers": 2, "mlp_ratio": 2.0, "pos_embed_type": "learnable",
                         "no_ln_pre": false, "pool_type": "tok"},
          "text_cfg": {"context_length": 16, "vocab_size": 64, "width": 64, "heads": 2,
                       "layers": 2, "mlp_ratio": 2.0, "pool_type": "eos", "eos_id": 3,
                       "pad_id": 0, "hf_tokenizer_name": "test"}},
         "preprocess_cfg": {"size": 32}}
        """);
    Path model = dir.resolve("random_open_clip");
    OpenClipPeer.run(
        dir,
        "make-random",
        "--out",
        model.toString(),
        "--config",
        config.toString(),
        "--tokenizer-dir",
        tokDir.toString(),
        "--seed",
        "3");
    List<Path> images = OpenClipPeer.writeImages(dir.resolve("images"), 32, 32, 12);
    List<String> captions = OpenClipPeer.captions(WORDS, 32, 2);
    Path captionFile = OpenClipPeer.writeCaptions(dir.resolve("captions.txt"), captions);
    OpenClipPeer.run(
        dir,
        "embed",
        "--model",
        model.toString(),
        "--images",
        dir.resolve("images").toString(),
        "--captions",
        captionFile.toString(),
        "--out",
        dir.resolve("openclip.json").toString(),
        "--variant",
        "vision_transposed=transpose:visual.transformer.resblocks.1.attn.out_proj.weight",
        "--variant",
        "text_transposed=transpose:transformer.resblocks.0.attn.out_proj.weight",
        "--variant",
        "no_ln_pre=drop:visual.ln_pre",
        "--variant",
        "no_ln_final=drop:ln_final");
    JsonObject peer = OpenClipPeer.readJson(dir.resolve("openclip.json"));

    Path checkpoint = dir.resolve("imported");
    OpenClipImport.Result imported =
        OpenClipImport.importModel(model, null, null, "test-import", checkpoint);
    assertFalse(imported.builtIn());
    try (ClipModel flip = CheckpointDir.loadModel(checkpoint, Devices.cpu());
        CaptionTokenizer tok =
            CaptionTokenizer.load(CheckpointDir.tokenizer(checkpoint).orElseThrow(), 16, "test")) {
      compare(
          "OpenCLIP -> flipflow",
          flip,
          tok,
          images,
          captions,
          peer,
          Map.of(
              "vision_transposed", "image",
              "text_transposed", "text",
              "no_ln_pre", "image",
              "no_ln_final", "text"));
    }

    // and it trains on from there with masking: fresh optimizer, step 0, the model's tokenizer
    Path presetFile = dir.resolve("test-import.json");
    Files.writeString(presetFile, new com.google.gson.Gson().toJson(imported.preset()));
    float[] before;
    try (ClipModel flip = CheckpointDir.loadModel(checkpoint, Devices.cpu())) {
      before = flip.weightValues("visual.class_embedding");
    }
    try (ClipTrainer trainer =
        ClipTrainer.fromWeights(checkpoint, config(presetFile.toString(), 0.5, 8, 3))) {
      assertEquals(0, trainer.step());
      LoopResult r =
          trainer.run(
              new SyntheticBatchSource(imported.preset(), 16),
              dir.resolve("tuned"),
              m -> {},
              () -> false);
      assertEquals(3, r.step());
      assertTrue(Float.isFinite(r.lastLoss()), "loss " + r.lastLoss());
      float[] after = trainer.model().weightValues("visual.class_embedding");
      assertFalse(Arrays.equals(before, after), "training from the import changed nothing");
      assertTrue(
          Files.isRegularFile(r.checkpoint().resolve(CheckpointDir.TOKENIZER)),
          "the imported tokenizer goes on into the new checkpoints");
    }
  }

  /**
   * Tokens identical; the base model within the bar on every image and text embedding and logit;
   * each broken variant outside it on the tower it breaks.
   */
  static void compare(
      String direction,
      ClipModel model,
      CaptionTokenizer tokenizer,
      List<Path> images,
      List<String> captions,
      JsonObject peer,
      Map<String, String> brokenTowers)
      throws Exception {
    JsonArray peerTokens = peer.getAsJsonArray("tokens");
    for (int i = 0; i < captions.size(); i++) {
      int[] ours = tokenizer.encode(captions.get(i));
      JsonArray theirs = peerTokens.get(i).getAsJsonArray();
      int[] t = new int[theirs.size()];
      for (int j = 0; j < t.length; j++) {
        t[j] = theirs.get(j).getAsInt();
      }
      assertEquals(
          Arrays.toString(ours),
          Arrays.toString(t),
          "token row of caption '" + captions.get(i) + "'");
    }
    ClipImageTextEncoder encoder = new ClipImageTextEncoder(model, tokenizer);
    float[][] img = OpenClipPeer.flipflowImages(encoder, images, model.preset().imageSize());
    float[][] txt = encoder.encodeTexts(captions);
    float[][] logits = OpenClipPeer.logits(img, txt, model.logitScale());
    assertEquals(
        Math.log(model.logitScale()), peer.get("logit_scale").getAsDouble(), 1e-6, "logit_scale");

    JsonObject base = peer.getAsJsonObject("variants").getAsJsonObject("base");
    double imageCos =
        OpenClipPeer.minCosine(img, OpenClipPeer.matrix(base.getAsJsonArray("image")));
    double textCos = OpenClipPeer.minCosine(txt, OpenClipPeer.matrix(base.getAsJsonArray("text")));
    double logitDiff =
        OpenClipPeer.maxAbsDiff(logits, OpenClipPeer.matrix(base.getAsJsonArray("logits")));
    System.out.printf(
        Locale.ROOT,
        "%s: %d images, %d captions: min cosine image %.9f text %.9f, max |logit diff| %.3g%n",
        direction,
        img.length,
        txt.length,
        imageCos,
        textCos,
        logitDiff);
    assertEquals(32, img.length);
    assertEquals(32, txt.length);
    assertTrue(imageCos >= MIN_COSINE, direction + ": image embeddings, min cosine " + imageCos);
    assertTrue(textCos >= MIN_COSINE, direction + ": text embeddings, min cosine " + textCos);
    assertTrue(logitDiff <= MAX_LOGIT_DIFF, direction + ": logits differ by " + logitDiff);

    for (Map.Entry<String, String> v : brokenTowers.entrySet()) {
      JsonObject broken = peer.getAsJsonObject("variants").getAsJsonObject(v.getKey());
      float[][] ours = v.getValue().equals("image") ? img : txt;
      double cos =
          OpenClipPeer.minCosine(ours, OpenClipPeer.matrix(broken.getAsJsonArray(v.getValue())));
      double diff =
          OpenClipPeer.maxAbsDiff(logits, OpenClipPeer.matrix(broken.getAsJsonArray("logits")));
      System.out.printf(
          Locale.ROOT,
          "%s: against OpenCLIP's %s: min cosine %.6f, max |logit diff| %.3g (must fail)%n",
          direction,
          v.getKey(),
          cos,
          diff);
      assertTrue(
          cos < MIN_COSINE && diff > MAX_LOGIT_DIFF,
          direction + ": the comparison did not catch " + v.getKey() + " (cosine " + cos + ")");
    }
  }
}
