package io.flipflow.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.SpecFiles;
import io.flipflow.workflows.spec.StudySpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every spec file users copy must load with Temporal's converter and validate. */
class ConfigFilesTest {

  static Path configDir() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isDirectory(dir.resolve("config/runs"))) {
        return dir.resolve("config");
      }
    }
    throw new IllegalStateException("no config/runs above " + Path.of("").toAbsolutePath());
  }

  static List<Path> jsonFiles(String folder) throws IOException {
    try (Stream<Path> files = Files.list(configDir().resolve(folder))) {
      return files.filter(f -> f.toString().endsWith(".json")).sorted().toList();
    }
  }

  @Test
  void everyRunFileValidatesAndMatchesWhatTemporalDelivers() throws IOException {
    List<Path> files = jsonFiles("runs");
    assertTrue(files.size() >= 3, "runs: " + files);
    for (Path file : files) {
      RunSpec spec = SpecFiles.readRun(file);
      assertEquals(spec, SpecTest.fromJson(Files.readString(file), RunSpec.class), file.toString());
      assertEquals(
          file.getFileName().toString(), spec.name() + ".json", "file name matches the run name");
    }
  }

  @Test
  void everyStudyFileValidatesWithEveryRunOfItsGrid() throws IOException {
    List<Path> files = jsonFiles("studies");
    assertTrue(files.size() >= 2, "studies: " + files);
    for (Path file : files) {
      StudySpec study = SpecFiles.readStudy(file);
      assertEquals(study, SpecTest.fromJson(Files.readString(file), StudySpec.class));
      assertEquals(file.getFileName().toString(), study.studyId() + ".json");
    }
    StudySpec table1a = SpecFiles.readStudy(configDir().resolve("studies/emoji-table1a.json"));
    assertEquals(
        List.of("emoji-table1a-mask0", "emoji-table1a-mask50", "emoji-table1a-mask75"),
        table1a.expand().stream().map(c -> c.workflowId()).toList());
    assertTrue(table1a.expand().stream().allMatch(c -> c.spec().unmaskedTuning().enabled()));
  }

  @Test
  void misspeltFieldIsNamedWithTheFile(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("typo.json");
    Files.writeString(
        file,
        Files.readString(configDir().resolve("runs/emoji-tiny-mask50.json"))
            .replace("\"weightDecay\"", "\"weightDecy\""));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> SpecFiles.readRun(file));
    assertTrue(
        e.getMessage().startsWith(file + ": unknown field 'weightDecy' in RunSpec"),
        e.getMessage());
  }
}
