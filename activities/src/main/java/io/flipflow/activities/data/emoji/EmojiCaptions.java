package io.flipflow.activities.data.emoji;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Captions after DATA.md's recipe, plus the category: {@code thumbs up — +1, good, hand, like,
 * thumb, yes. hand fingers closed, people & body}. The label, then up to 6 tags that are not
 * already words of the label, then the subgroup and group names. The category names are there on
 * purpose (web captions often name their category): the zero-shot class names ("mammals") then
 * occur in training text, so the model learns them instead of meeting them first at evaluation.
 * Never the style's name.
 */
public final class EmojiCaptions {
  public static final int MAX_TAGS = 6;

  private EmojiCaptions() {}

  public static String caption(EmojiCatalog.Emoji e) {
    return caption(e.label(), e.tags(), e.subgroupName(), e.groupName());
  }

  public static String caption(
      String label, List<String> tags, String subgroupName, String groupName) {
    Set<String> labelWords = new HashSet<>(words(label));
    List<String> kept = new ArrayList<>();
    for (String tag : tags) {
      if (kept.size() == MAX_TAGS) {
        break;
      }
      List<String> tagWords = words(tag);
      if (!labelWords.containsAll(tagWords) && !kept.contains(tag)) {
        kept.add(tag);
      }
    }
    StringBuilder sb = new StringBuilder(label);
    if (!kept.isEmpty()) {
      sb.append(" — ").append(String.join(", ", kept));
    }
    sb.append(". ").append(subgroupName).append(", ").append(groupName);
    return sb.toString();
  }

  private static List<String> words(String s) {
    return Arrays.stream(s.toLowerCase(Locale.ROOT).split("[\\s:,]+"))
        .filter(w -> !w.isEmpty())
        .toList();
  }
}
