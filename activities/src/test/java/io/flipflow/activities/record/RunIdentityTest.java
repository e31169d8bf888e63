package io.flipflow.activities.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.db.PostgresFixture;
import io.flipflow.db.RunStore;
import io.flipflow.workflows.spec.RunIdentity;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.RunSpecBuilder;
import io.temporal.failure.ApplicationFailure;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A run's identity includes what it was asked to do: the case of a spec edited and run
 * again under the same name (mask 0.5 and 12 steps, then 0.75 and 24) is refused at start with the
 * existing run and the differences named, and the record keeps the first spec.
 */
class RunIdentityTest {
  static PostgresFixture pg;
  static RecordActivitiesImpl record;

  @BeforeAll
  static void start() {
    pg = PostgresFixture.start();
    pg.database().migrate();
    record = new RecordActivitiesImpl(pg.database());
  }

  @AfterAll
  static void stop() throws Exception {
    pg.close();
  }

  static RunSpec spec(String name, double mask, long steps) {
    return RunSpecBuilder.builder()
        .name(name)
        .modelPreset("tiny-emoji")
        .dataUri("s3://flipflow/emoji/train/")
        .evalSetUris(List.of("s3://flipflow/emoji/eval/subgroup/"))
        .imageSize(64)
        .maskRatio(mask)
        .batchSize(128)
        .steps(steps)
        .baseLr(1e-3)
        .build();
  }

  static void started(String temporalRunId, RunSpec spec) {
    record.claimRun(identity(temporalRunId, spec), spec);
    record.recordRunStarted(spec.name(), temporalRunId, spec, 0);
  }

  static RunIdentity identity(String temporalRunId, RunSpec spec) {
    return new RunIdentity(spec.name(), temporalRunId, spec.fingerprint(), spec.resumeOnly());
  }

  @Test
  void anEditedSpecUnderTheSameNameIsRefusedNamingWhatDiffers() throws Exception {
    RunSpec first = spec("identity-edit", 0.5, 12);
    started("exec-1", first);
    RunSpec edited = spec("identity-edit", 0.75, 24);
    ApplicationFailure refused =
        assertThrows(
            ApplicationFailure.class, () -> record.claimRun(identity("exec-2", edited), edited));
    assertTrue(refused.isNonRetryable());
    assertEquals("BadInput", refused.getType());
    String m = refused.getOriginalMessage();
    assertTrue(m.startsWith("run 'identity-edit' already exists (RUNNING"), m);
    assertTrue(m.contains("maskRatio 0.5 -> 0.75"), m);
    assertTrue(m.contains("steps 12 -> 24"), m);
    assertTrue(m.contains("new name"), m);
    RunStore.ExistingRun row = pg.database().runs().find("identity-edit").orElseThrow();
    assertEquals(first.fingerprint(), row.specFingerprint(), "the record keeps the first spec");
  }

  @Test
  void theSameSpecContinuesAndResumeAsksForAnExistingRun() {
    RunSpec spec = spec("identity-same", 0.5, 12);
    ApplicationFailure nothing =
        assertThrows(
            ApplicationFailure.class,
            () -> record.claimRun(identity("exec-1", spec.withResume(true)), spec));
    assertTrue(nothing.getOriginalMessage().contains("nothing to resume"));
    started("exec-1", spec);
    record.claimRun(identity("exec-1", spec), spec); // the same execution, retried
    record.claimRun(identity("exec-2", spec), spec); // started again: continues
    RunSpec moved = spec.withDevice("cuda:0").withResume(true);
    record.claimRun(identity("exec-3", moved), moved); // on another device: the same run
  }

  @Test
  void theFingerprintIgnoresNameDeviceResumeAndFieldOrderButNotWhatIsTrained() {
    RunSpec a = spec("a", 0.5, 12);
    assertEquals(
        a.fingerprint(), a.withName("b").withDevice("cuda").withResume(true).fingerprint());
    assertEquals(a.fingerprint(), spec("a", 0.50, 12).fingerprint());
    assertNotEquals(a.fingerprint(), a.withSeed(1L).fingerprint());
    assertNotEquals(a.fingerprint(), a.withEvalSetUris(List.of("s3://x/y/")).fingerprint());
  }

  @Test
  void aLoneRunNamingAStudyThatDoesNotExistIsRefused() {
    RunSpec lone = spec("identity-lone", 0.5, 12).withStudyId("no-such-study");
    ApplicationFailure refused =
        assertThrows(ApplicationFailure.class, () -> record.claimRun(identity("e", lone), lone));
    assertTrue(refused.getOriginalMessage().startsWith("studyId: study 'no-such-study'"));
  }

  @Test
  void rowsWrittenBeforeFingerprintsCompareByTheirSpec() throws Exception {
    RunSpec old = spec("identity-legacy", 0.5, 12);
    pg.database()
        .runs()
        .upsertRun(
            new RunStore.RunRow(
                "identity-legacy",
                "old-exec",
                null,
                "identity-legacy",
                "tiny-emoji",
                64,
                0.5,
                128,
                1536L,
                old.dataUri(),
                true,
                0,
                "cpu",
                new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(old),
                null));
    record.claimRun(identity("new-exec", old), old);
    RunSpec edited = spec("identity-legacy", 0.75, 12);
    ApplicationFailure refused =
        assertThrows(
            ApplicationFailure.class, () -> record.claimRun(identity("new-exec", edited), edited));
    assertTrue(refused.getOriginalMessage().contains("maskRatio 0.5 -> 0.75"));
  }
}
