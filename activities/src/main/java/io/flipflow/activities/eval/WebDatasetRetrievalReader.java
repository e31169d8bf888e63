package io.flipflow.activities.eval;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a retrieval set from img2dataset/WebDataset shards on local disk: tar members grouped by
 * key as WebDataset does (the member name up to the first dot of its file name), an image ({@code
 * <key>.png|jpg|jpeg|webp}) and captions ({@code <key>.txt}, one caption per non-blank line). Other
 * members ({@code .json}, ...) are ignored. A sample whose image does not decode, or with no
 * caption or no image, is skipped and reported; an unreadable shard is skipped and reported whole.
 */
public final class WebDatasetRetrievalReader {
  private static final Logger LOG = LoggerFactory.getLogger(WebDatasetRetrievalReader.class);
  private static final Set<String> IMAGE_EXTENSIONS = Set.of("png", "jpg", "jpeg", "webp");

  private WebDatasetRetrievalReader() {}

  /** Reads every {@code *.tar} of {@code dir} in name order, or the one tar file given. */
  public static RetrievalSet read(String setName, Path dirOrTar, SkippedSampleListener listener)
      throws IOException {
    List<Path> shards;
    if (Files.isDirectory(dirOrTar)) {
      try (Stream<Path> s = Files.list(dirOrTar)) {
        shards = s.filter(p -> p.getFileName().toString().endsWith(".tar")).sorted().toList();
      }
      if (shards.isEmpty()) {
        throw new IllegalArgumentException("no .tar shard in " + dirOrTar);
      }
    } else if (Files.isRegularFile(dirOrTar)) {
      shards = List.of(dirOrTar);
    } else {
      throw new IllegalArgumentException("evaluation shards " + dirOrTar + " do not exist");
    }
    return read(setName, shards, listener);
  }

  public static RetrievalSet read(String setName, List<Path> shards, SkippedSampleListener listener)
      throws IOException {
    List<RetrievalSet.Sample> samples = new ArrayList<>();
    int skipped = 0;
    for (Path shard : shards) {
      Map<String, Member> members;
      try {
        members = readShard(shard);
      } catch (IOException | IllegalArgumentException e) {
        listener.skipped(shard.toString(), "unreadable tar shard, all of it skipped: " + e);
        skipped++;
        continue;
      }
      for (Member m : members.values()) {
        String entry = shard + "!" + m.key;
        if (m.image == null) {
          listener.skipped(entry, "caption without an image");
          skipped++;
          continue;
        }
        ImageRef image = ImageRef.ofBytes(shard + "!" + m.imageMember, m.image);
        if (m.captions == null || m.captions.isEmpty()) {
          listener.skipped(image.name(), m.captions == null ? "no .txt caption" : "empty caption");
          skipped++;
          continue;
        }
        if (EvalSetFiles.decodes(image, listener)) {
          samples.add(new RetrievalSet.Sample(image, m.captions));
        } else {
          skipped++;
        }
      }
    }
    if (samples.isEmpty()) {
      throw new IllegalArgumentException(
          "evaluation shards " + shards + " hold no usable sample (" + skipped + " skipped)");
    }
    LOG.info(
        "read retrieval set {} from {} shards: {} images, {} skipped",
        setName,
        shards.size(),
        samples.size(),
        skipped);
    return new RetrievalSet(setName, samples);
  }

  private static final class Member {
    final String key;
    String imageMember;
    byte[] image;
    List<String> captions;

    Member(String key) {
      this.key = key;
    }
  }

  private static Map<String, Member> readShard(Path shard) throws IOException {
    Map<String, Member> byKey = new LinkedHashMap<>();
    try (InputStream in = new BufferedInputStream(Files.newInputStream(shard));
        TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
      TarArchiveEntry entry;
      while ((entry = tar.getNextEntry()) != null) {
        if (!entry.isFile()) {
          continue;
        }
        String name = entry.getName();
        int slash = name.lastIndexOf('/');
        int dot = name.indexOf('.', slash + 1);
        if (dot < 0) {
          continue;
        }
        String key = name.substring(0, dot);
        String extension = name.substring(dot + 1).toLowerCase(Locale.ROOT);
        if (IMAGE_EXTENSIONS.contains(extension)) {
          Member m = byKey.computeIfAbsent(key, Member::new);
          m.imageMember = name;
          m.image = tar.readAllBytes();
        } else if (extension.equals("txt")) {
          String text = new String(tar.readAllBytes(), StandardCharsets.UTF_8);
          byKey.computeIfAbsent(key, Member::new).captions =
              Arrays.stream(text.split("\\R"))
                  .map(String::strip)
                  .filter(s -> !s.isEmpty())
                  .toList();
        }
      }
    }
    return byKey;
  }
}
