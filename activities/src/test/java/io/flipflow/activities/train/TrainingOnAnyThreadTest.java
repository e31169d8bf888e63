package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.model.ModelPreset;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A retried activity resumes on whatever executor thread Temporal gives it, where PyTorch's
 * per-thread autograd switch may be on: training must work there too (found by the reliability
 * suite: a resume on a second thread failed in the optimizer's in-place update).
 */
class TrainingOnAnyThreadTest {
  @TempDir Path dir;

  @Test
  void resumesAndTrainsOnAThreadWhoseGradModeIsOn() throws Exception {
    ModelPreset preset = ClipTrainerTest.micro();
    try (ClipTrainer first = ClipTrainer.create(ClipTrainerTest.config(0.5, 8, 8), preset)) {
      first.run(new SyntheticBatchSource(preset, 64), dir, m -> {}, () -> first.step() >= 2);
    }
    Path checkpoint = CheckpointDir.latest(dir).orElseThrow();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicReference<Long> steps = new AtomicReference<>();
    Thread other =
        new Thread(
            () -> {
              JniUtils.setGradMode(true); // what a fresh thread has by PyTorch's default
              try (ClipTrainer resumed = ClipTrainer.resume(checkpoint)) {
                steps.set(
                    resumed
                        .run(new SyntheticBatchSource(preset, 64), dir, m -> {}, () -> false)
                        .step());
              } catch (Throwable t) {
                failure.set(t);
              }
            });
    other.start();
    other.join();
    assertNull(failure.get(), () -> "training on another thread failed: " + failure.get());
    assertEquals(8L, steps.get());
  }

  /** The benchmarks call trainStep directly, without run(): it must switch grad mode off itself. */
  @Test
  void aSingleStepWorksOnAThreadWhoseGradModeIsOn() throws Exception {
    ModelPreset preset = ClipTrainerTest.micro();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread other =
        new Thread(
            () -> {
              JniUtils.setGradMode(true);
              try (ClipTrainer trainer =
                      ClipTrainer.create(ClipTrainerTest.config(0.5, 8, 8), preset);
                  NDManager step = NDManager.newBaseManager()) {
                Batch batch = new SyntheticBatchSource(preset, 64).next(step, 8);
                trainer.trainStep(batch, 0.5, 1e-3, step);
              } catch (Throwable t) {
                failure.set(t);
              }
            });
    other.start();
    other.join();
    assertNull(failure.get(), () -> "a step on another thread failed: " + failure.get());
  }
}
