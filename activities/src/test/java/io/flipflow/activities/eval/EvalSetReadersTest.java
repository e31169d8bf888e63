package io.flipflow.activities.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalSetReadersTest {
  private final List<String> skipped = new ArrayList<>();
  private final SkippedSampleListener record =
      (entry, reason) -> skipped.add(entry + " | " + reason);

  @Test
  void image_folder_with_a_corrupt_image_and_a_class_without_images(@TempDir Path root)
      throws Exception {
    Files.writeString(
        root.resolve("classes.json"),
        "{\"red-things\": \"red\", \"green-things\": \"green\", \"blue-things\": \"blue\"}");
    Files.writeString(root.resolve("templates.json"), "[\"a {c} square\", \"{c}\"]");
    Fixtures.writePng(root.resolve("red-things/a.png"), Color.RED);
    Fixtures.writePng(root.resolve("red-things/b.png"), Color.RED);
    Fixtures.writePng(root.resolve("green-things/c.png"), Color.GREEN);
    Files.write(root.resolve("green-things/broken.png"), Fixtures.corruptPng());

    ClassificationSet set = ImageFolderReader.read("colours", root, record);

    assertEquals(List.of("red", "green", "blue"), set.classNames());
    assertEquals(List.of("a {c} square", "{c}"), set.templates());
    assertEquals(3, set.samples().size());
    assertEquals(
        List.of(1, 0, 0), set.samples().stream().map(ClassificationSet.Sample::label).toList());
    assertEquals(1, skipped.size(), skipped.toString());
    assertTrue(skipped.get(0).contains("broken.png"), skipped.toString());
  }

  @Test
  void image_folder_errors_name_the_folder(@TempDir Path root) throws Exception {
    Files.writeString(root.resolve("classes.json"), "[\"red\"]");
    Files.writeString(root.resolve("templates.json"), "[\"a {c} square\"]");
    Files.write(
        Files.createDirectories(root.resolve("red")).resolve("x.png"), Fixtures.corruptPng());

    var allBroken =
        assertThrows(
            IllegalArgumentException.class, () -> ImageFolderReader.read("c", root, record));
    assertTrue(allBroken.getMessage().contains("no decodable image"), allBroken.getMessage());

    Fixtures.writePng(root.resolve("purple/y.png"), Color.MAGENTA);
    var unknown =
        assertThrows(
            IllegalArgumentException.class, () -> ImageFolderReader.read("c", root, record));
    assertTrue(unknown.getMessage().contains("purple"), unknown.getMessage());
  }

  @Test
  void csv_manifest_by_id_and_name_and_a_missing_file(@TempDir Path dir) throws Exception {
    Files.writeString(
        dir.resolve("classes.json"), "{\"0\": \"T-shirt/top\", \"9\": \"Ankle boot\"}");
    Files.writeString(dir.resolve("templates.json"), "[\"a photo of a {c}.\"]");
    Fixtures.writePng(dir.resolve("img/one.png"), Color.GRAY);
    Fixtures.writePng(dir.resolve("img/two, quoted.png"), Color.BLACK);
    Files.writeString(
        dir.resolve("manifest.csv"),
        "image,class,extra\nimg/one.png,9,x\n\"img/two, quoted.png\",T-shirt/top,y\nimg/gone.png,0,z\n");

    ClassificationSet set = ManifestReader.read("fashion", dir, record);

    assertEquals(List.of("T-shirt/top", "Ankle boot"), set.classNames());
    assertEquals(
        List.of(1, 0), set.samples().stream().map(ClassificationSet.Sample::label).toList());
    assertEquals(1, skipped.size());
    assertTrue(skipped.get(0).contains("gone.png") && skipped.get(0).contains("line 4"));
  }

  @Test
  void jsonl_manifest_with_an_unknown_class_names_the_line(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("classes.json"), "[\"mammals\", \"birds\"]");
    Files.writeString(dir.resolve("templates.json"), "[\"an emoji of {c}\"]");
    Fixtures.writePng(dir.resolve("a.png"), Color.ORANGE);
    Files.writeString(
        dir.resolve("manifest.jsonl"),
        "{\"image\": \"a.png\", \"class\": \"birds\"}\n{\"image\": \"a.png\", \"class\": \"fish\"}\n");

    var e =
        assertThrows(IllegalArgumentException.class, () -> ManifestReader.read("e", dir, record));
    assertTrue(
        e.getMessage().contains("manifest.jsonl line 2") && e.getMessage().contains("'fish'"),
        e.getMessage());
  }

  @Test
  void webdataset_shards_with_several_captions_and_bad_samples(@TempDir Path dir) throws Exception {
    Map<String, byte[]> members = new LinkedHashMap<>();
    members.put("000.png", Fixtures.png(Color.RED, 8));
    members.put("000.txt", Fixtures.utf8("a red square\n\n  scarlet block  \n"));
    members.put("000.json", Fixtures.utf8("{\"label\": \"red\"}"));
    members.put("001.txt", Fixtures.utf8("green"));
    members.put("001.png", Fixtures.png(Color.GREEN, 8)); // members of a key need not be in order
    members.put("002.png", Fixtures.corruptPng());
    members.put("002.txt", Fixtures.utf8("broken"));
    members.put("003.txt", Fixtures.utf8("caption without image"));
    members.put("004.png", Fixtures.png(Color.BLUE, 8));
    members.put("005.png", Fixtures.png(Color.BLUE, 8));
    members.put("005.txt", Fixtures.utf8("   \n"));
    Fixtures.writeTar(dir.resolve("00000.tar"), members);
    // a truncated shard: the first 700 bytes of a valid one
    byte[] big = new byte[4000];
    new java.util.Random(3).nextBytes(big);
    Fixtures.writeTar(
        dir.resolve("full.tmp"), Map.of("100.png", big, "100.txt", Fixtures.utf8("x")));
    Files.write(
        dir.resolve("00001.tar"), Arrays.copyOf(Files.readAllBytes(dir.resolve("full.tmp")), 700));

    RetrievalSet set = WebDatasetRetrievalReader.read("colours", dir, record);

    assertEquals(2, set.samples().size());
    assertEquals(List.of("a red square", "scarlet block"), set.samples().get(0).captions());
    assertEquals(List.of("green"), set.samples().get(1).captions());
    assertTrue(set.samples().get(1).image().name().endsWith("00000.tar!001.png"));
    String all = String.join("\n", skipped);
    assertEquals(5, skipped.size(), all);
    for (String expected :
        List.of(
            "002.png",
            "!003 | caption without an image",
            "004.png | no .txt caption",
            "005.png | empty caption",
            "00001.tar | unreadable tar shard")) {
      assertTrue(all.contains(expected), expected + " not in\n" + all);
    }
  }
}
