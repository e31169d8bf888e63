package io.flipflow.activities.eval;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads an ImageNet-style classification set from local disk: {@code <root>/<class id>/<image>},
 * with {@code classes.json} and {@code templates.json} in {@code root} (see {@link EvalSetFiles}).
 * Images that do not decode are skipped and reported; a folder that is not a listed class is an
 * error, a listed class without a folder simply has no sample.
 */
public final class ImageFolderReader {
  private static final Logger LOG = LoggerFactory.getLogger(ImageFolderReader.class);

  private ImageFolderReader() {}

  public static ClassificationSet read(String setName, Path root, SkippedSampleListener listener)
      throws IOException {
    List<EvalSetFiles.ClassEntry> classes =
        EvalSetFiles.readClasses(root.resolve(EvalSetFiles.CLASSES));
    List<String> templates = EvalSetFiles.readTemplates(root.resolve(EvalSetFiles.TEMPLATES));
    return read(
        setName,
        root,
        classes.stream().map(EvalSetFiles.ClassEntry::id).toList(),
        classes.stream().map(EvalSetFiles.ClassEntry::name).toList(),
        templates,
        listener);
  }

  /**
   * @param classDirs the folder of each class, in class-index order
   * @param classNames the name prompts use for each class, same order
   */
  public static ClassificationSet read(
      String setName,
      Path root,
      List<String> classDirs,
      List<String> classNames,
      List<String> templates,
      SkippedSampleListener listener)
      throws IOException {
    if (!Files.isDirectory(root)) {
      throw new IllegalArgumentException("evaluation set folder " + root + " does not exist");
    }
    if (classDirs.size() != classNames.size()) {
      throw new IllegalArgumentException(
          classDirs.size() + " class folders but " + classNames.size() + " class names");
    }
    Map<String, Integer> indexOfDir = new HashMap<>();
    for (int c = 0; c < classDirs.size(); c++) {
      if (indexOfDir.put(classDirs.get(c), c) != null) {
        throw new IllegalArgumentException("class " + classDirs.get(c) + " is listed twice");
      }
    }
    List<Path> dirs;
    try (Stream<Path> s = Files.list(root)) {
      dirs =
          s.filter(Files::isDirectory)
              .filter(d -> !d.getFileName().toString().startsWith("."))
              .sorted()
              .toList();
    }
    List<ClassificationSet.Sample> samples = new ArrayList<>();
    int skipped = 0;
    for (Path dir : dirs) {
      String id = dir.getFileName().toString();
      Integer label = indexOfDir.get(id);
      if (label == null) {
        throw new IllegalArgumentException(
            "folder " + dir + " is not a class of " + root.resolve(EvalSetFiles.CLASSES));
      }
      List<Path> files;
      try (Stream<Path> s = Files.list(dir)) {
        files =
            s.filter(Files::isRegularFile)
                .filter(f -> !f.getFileName().toString().startsWith("."))
                .sorted()
                .toList();
      }
      for (Path f : files) {
        ImageRef image = ImageRef.ofFile(f);
        if (EvalSetFiles.decodes(image, listener)) {
          samples.add(new ClassificationSet.Sample(image, label));
        } else {
          skipped++;
        }
      }
    }
    if (samples.isEmpty()) {
      throw new IllegalArgumentException(
          "evaluation set "
              + root
              + " has no decodable image ("
              + skipped
              + " skipped as undecodable)");
    }
    LOG.info(
        "read classification set {} from {}: {} images, {} classes, {} skipped",
        setName,
        root,
        samples.size(),
        classNames.size(),
        skipped);
    return new ClassificationSet(setName, classNames, templates, samples);
  }
}
