package io.flipflow.workflows;

import io.temporal.api.enums.v1.IndexedValueType;
import io.temporal.common.SearchAttributeKey;
import java.util.ArrayList;
import java.util.List;

/**
 * Custom search attributes the workflows upsert, for {@code temporal workflow list -q} and the UI.
 * A server must know them before a workflow upserts one (an unknown name fails the workflow task):
 * the dev server takes {@link #devServerArguments()}; a real cluster registers them once with
 * {@code temporal operator search-attribute create --name NAME --type TYPE} for each of {@link
 * #ALL}.
 */
public final class SearchAttributeKeys {
  /** Study id of a run, or of the study workflow itself. */
  public static final SearchAttributeKey<String> STUDY = SearchAttributeKey.forKeyword("FlipStudy");

  /** Model preset name, e.g. {@code tiny-emoji}. */
  public static final SearchAttributeKey<String> MODEL = SearchAttributeKey.forKeyword("FlipModel");

  /** Pretraining mask ratio in [0, 1). */
  public static final SearchAttributeKey<Double> MASK_RATIO =
      SearchAttributeKey.forDouble("FlipMaskRatio");

  /** Where a run is: a {@code Stage} name, e.g. {@code PRETRAIN} or {@code FINISHED}. */
  public static final SearchAttributeKey<String> STAGE = SearchAttributeKey.forKeyword("FlipStage");

  /** Headline zero-shot top-1 accuracy once an evaluation has reported it. */
  public static final SearchAttributeKey<Double> TOP1 = SearchAttributeKey.forDouble("FlipTop1");

  /** The run an evaluation workflow evaluates a checkpoint of (its record's run id). */
  public static final SearchAttributeKey<String> RUN = SearchAttributeKey.forKeyword("FlipRun");

  /** The evaluation sets an evaluation workflow evaluates on (their URIs). */
  public static final SearchAttributeKey<List<String>> EVAL_SETS =
      SearchAttributeKey.forKeywordList("FlipEvalSet");

  public static final List<SearchAttributeKey<?>> ALL =
      List.of(STUDY, MODEL, MASK_RATIO, STAGE, TOP1, RUN, EVAL_SETS);

  private SearchAttributeKeys() {}

  /** The type name the Temporal CLI uses for a key's type, e.g. {@code Keyword}, {@code Double}. */
  public static String cliTypeName(SearchAttributeKey<?> key) {
    IndexedValueType type = key.getValueType();
    return switch (type) {
      case INDEXED_VALUE_TYPE_KEYWORD -> "Keyword";
      case INDEXED_VALUE_TYPE_DOUBLE -> "Double";
      case INDEXED_VALUE_TYPE_TEXT -> "Text";
      case INDEXED_VALUE_TYPE_INT -> "Int";
      case INDEXED_VALUE_TYPE_BOOL -> "Bool";
      case INDEXED_VALUE_TYPE_DATETIME -> "Datetime";
      case INDEXED_VALUE_TYPE_KEYWORD_LIST -> "KeywordList";
      default -> throw new IllegalStateException("no CLI name for " + type);
    };
  }

  /**
   * Arguments for {@code temporal server start-dev} that register every key, e.g. {@code
   * --search-attribute FlipStudy=Keyword ...}.
   */
  public static List<String> devServerArguments() {
    List<String> args = new ArrayList<>();
    for (SearchAttributeKey<?> key : ALL) {
      args.add("--search-attribute");
      args.add(key.getName() + "=" + cliTypeName(key));
    }
    return args;
  }
}
