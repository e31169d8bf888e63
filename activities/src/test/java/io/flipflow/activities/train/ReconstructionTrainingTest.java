package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.checkpoint.SafeTensors;
import io.flipflow.activities.device.Devices;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.workflows.plan.RunPlans;
import io.flipflow.workflows.plan.TrainConfig;
import io.flipflow.workflows.spec.Reconstruction;
import io.flipflow.workflows.spec.UnmaskedTuning;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * FLIP's Table 1f on the micro preset: the MAE-style decoder learns (its loss falls on an overfit
 * batch), its gradient reaches the encoder, and it lives beside the model in a checkpoint, never in
 * the model file that evaluation, tuning and export read.
 */
class ReconstructionTrainingTest {

  private static final Reconstruction ON = new Reconstruction(1.0, 1, null);

  private static TrainConfig config(Reconstruction reconstruction) {
    return ClipTrainerTest.config(0.75, 16, 40)
        .with()
        .warmupSteps(0)
        .reconstruction(reconstruction)
        .build();
  }

  @Test
  void theDecodersLossFallsOnAnOverfitBatch() {
    ModelPreset preset = ClipTrainerTest.micro();
    SyntheticBatchSource data = new SyntheticBatchSource(preset, 16);
    try (ClipTrainer trainer = ClipTrainer.create(config(ON), preset);
        NDManager manager = NDManager.newBaseManager(Devices.cpu())) {
      Batch batch = data.next(manager, 16);
      float first = Float.NaN;
      float last = Float.NaN;
      for (int i = 0; i < 40; i++) {
        try (NDManager step = manager.newSubManager()) {
          ClipTrainer.StepResult r = trainer.trainStep(batch, 0.75, 2e-3, step);
          assertTrue(r.loss() > r.reconstructionLoss(), "the total includes the contrastive loss");
          first = i == 0 ? r.reconstructionLoss() : first;
          last = r.reconstructionLoss();
        }
      }
      // norm-pix targets have unit variance: an untrained decoder starts near 1
      assertTrue(first > 0.5 && first < 3, "first reconstruction loss " + first);
      assertTrue(last < 0.6 * first, "reconstruction loss " + first + " -> " + last);
    }
  }

  @Test
  void theDecoderChangesWhatTheEncoderLearnsFromTheSameStart() {
    ModelPreset preset = ClipTrainerTest.micro();
    SyntheticBatchSource data = new SyntheticBatchSource(preset, 16);
    float[][] convAfter = new float[2][];
    float[][] convBefore = new float[2][];
    float[] reconstruction = new float[2];
    Reconstruction[] settings = {null, ON};
    for (int i = 0; i < 2; i++) {
      try (ClipTrainer trainer = ClipTrainer.create(config(settings[i]), preset);
          NDManager manager = NDManager.newBaseManager(Devices.cpu())) {
        convBefore[i] = trainer.model().weightValues("visual.conv1.weight");
        data.seek(0);
        ClipTrainer.StepResult r = trainer.trainStep(data.next(manager, 16), 0.75, 2e-3, manager);
        reconstruction[i] = r.reconstructionLoss();
        convAfter[i] = trainer.model().weightValues("visual.conv1.weight");
      }
    }
    assertArrayEquals(convBefore[0], convBefore[1], "the towers start alike with or without it");
    assertTrue(Float.isNaN(reconstruction[0]), "no decoder, no reconstruction loss");
    assertFalse(Float.isNaN(reconstruction[1]));
    double largest = 0;
    for (int k = 0; k < convAfter[0].length; k++) {
      largest = Math.max(largest, Math.abs(convAfter[0][k] - convAfter[1][k]));
    }
    assertTrue(
        largest > 1e-5,
        "the pixel loss's gradient reaches the patch embedding: largest difference " + largest);
  }

  @Test
  void theDecoderIsCheckpointedBesideTheModelAndStaysBehindInTuning(@TempDir Path dir)
      throws Exception {
    ModelPreset preset = ClipTrainerTest.micro();
    TrainConfig pretrain = config(ON).with().totalSteps(3).build();
    Path checkpoint;
    float[] decoderWeights;
    List<Float> reconstructionLosses = new java.util.ArrayList<>();
    try (ClipTrainer trainer = ClipTrainer.create(pretrain, preset)) {
      checkpoint =
          trainer
              .run(
                  new SyntheticBatchSource(preset, 32),
                  dir.resolve("pre"),
                  m -> reconstructionLosses.add(m.reconstructionLoss()),
                  () -> false)
              .checkpoint();
      assertEquals(3, reconstructionLosses.size());
      assertTrue(
          reconstructionLosses.stream().allMatch(l -> l > 0 && Float.isFinite(l)),
          "every step reports the decoder's loss: " + reconstructionLosses);
      decoderWeights = trainer.model().weightValues("decoder.pred.weight");
    }
    try (SafeTensors.Reader model = SafeTensors.open(checkpoint.resolve(CheckpointDir.WEIGHTS));
        SafeTensors.Reader decoder = SafeTensors.open(checkpoint.resolve(CheckpointDir.DECODER))) {
      assertTrue(
          model.entries().keySet().stream().noneMatch(n -> n.startsWith("decoder.")),
          "the model file is the plain CLIP model");
      assertTrue(
          decoder.entries().containsKey("decoder.mask_token"),
          decoder.entries().keySet().toString());
      assertTrue(decoder.entries().keySet().stream().allMatch(n -> n.startsWith("decoder.")));
    }
    // a retry resumes the decoder with the rest
    try (ClipTrainer resumed = ClipTrainer.resume(checkpoint)) {
      assertEquals(3, resumed.step());
      assertArrayEquals(decoderWeights, resumed.model().weightValues("decoder.pred.weight"));
    }
    // evaluation loads the CLIP model alone
    try (ClipModel eval = CheckpointDir.loadModel(checkpoint, Devices.cpu())) {
      assertFalse(eval.hasDecoder());
    }
    // unmasked tuning has no decoder; with the optimizer carried over, its moments stay behind
    TrainConfig tuning =
        RunPlans.tuningConfig(pretrain, 48, new UnmaskedTuning(true, 1.0, 0.1, "carried", 0.0));
    assertEquals(null, tuning.reconstruction());
    try (ClipTrainer tuner =
        ClipTrainer.fromWeightsAndOptimizer(checkpoint, tuning, List.of(Devices.cpu()))) {
      assertFalse(tuner.model().hasDecoder());
      Path tuned =
          tuner
              .run(
                  new SyntheticBatchSource(preset, 32),
                  dir.resolve("tune"),
                  StepListener.NONE,
                  () -> false)
              .checkpoint();
      assertFalse(Files.exists(tuned.resolve(CheckpointDir.DECODER)));
    }
    assertThrows(
        IllegalArgumentException.class,
        () -> ClipTrainer.create(pretrain.with().maskRatio(0.0).build(), preset),
        "nothing to reconstruct without a mask");
    // a decoder run whose checkpoint lost its decoder file is refused, named
    Files.delete(checkpoint.resolve(CheckpointDir.DECODER));
    IllegalArgumentException missing =
        assertThrows(IllegalArgumentException.class, () -> ClipTrainer.resume(checkpoint));
    assertTrue(missing.getMessage().contains(CheckpointDir.DECODER), missing.getMessage());
  }
}
