package io.flipflow.workflows.spec;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;

/**
 * The paper's axes a study varies. A missing or empty axis keeps the base run's value.
 *
 * @param modelPresets model size axis, preset names
 * @param dataSamples data size axis, training samples used
 * @param scheduleSamples schedule length axis, samples seen
 * @param maskRatios mask ratio axis
 * @param batchSizes batch size axis
 * @param textMaskRatios text masking axis (FLIP's Table 1c; {@code v_table1c_text_masking})
 * @param seeds repeats of every grid point with these seeds (initialisation, masks, data order), so
 *     the views can give an interval over seeds ({@code v_seeds_table1a}); a missing axis runs the
 *     base run's seed once
 * @param unmaskedTunings the tuning ablation: settings of the unmasked tuning stage ({@code
 *     v_tuning_ablation}); cells that differ only here pretrain the same model
 * @param reconstructionWeights FLIP's Table 1f: the weight of the MAE-style reconstruction loss
 *     ({@code v_table1f_reconstruction}); 0 trains without a decoder, a positive weight with the
 *     base run's {@code reconstruction} settings (or the defaults)
 */
public record StudyAxes(
    List<String> modelPresets,
    List<Long> dataSamples,
    List<Long> scheduleSamples,
    List<Double> maskRatios,
    List<Integer> batchSizes,
    List<Double> textMaskRatios,
    List<Long> seeds,
    List<UnmaskedTuning> unmaskedTunings,
    List<Double> reconstructionWeights) {

  public StudyAxes {
    modelPresets = copy(modelPresets);
    dataSamples = copy(dataSamples);
    scheduleSamples = copy(scheduleSamples);
    maskRatios = copy(maskRatios);
    batchSizes = copy(batchSizes);
    textMaskRatios = copy(textMaskRatios);
    seeds = copy(seeds);
    unmaskedTunings = copy(unmaskedTunings);
    reconstructionWeights = copy(reconstructionWeights);
  }

  public static StudyAxes none() {
    return new StudyAxes(null, null, null, null, null, null, null, null, null);
  }

  void validate(List<String> errors) {
    checkAxis("axes.modelPresets", modelPresets, errors);
    checkAxis("axes.dataSamples", dataSamples, errors);
    checkAxis("axes.scheduleSamples", scheduleSamples, errors);
    checkAxis("axes.maskRatios", maskRatios, errors);
    checkAxis("axes.batchSizes", batchSizes, errors);
    checkAxis("axes.textMaskRatios", textMaskRatios, errors);
    checkAxis("axes.seeds", seeds, errors);
    checkAxis("axes.unmaskedTunings", unmaskedTunings, errors);
    checkAxis("axes.reconstructionWeights", reconstructionWeights, errors);
    for (Double w : reconstructionWeights) {
      if (w != null && !(w >= 0 && w < Double.POSITIVE_INFINITY)) {
        errors.add("axes.reconstructionWeights: must be >= 0 (0 for none), got " + w);
      }
    }
    for (int i = 0; i < unmaskedTunings.size(); i++) {
      if (unmaskedTunings.get(i) != null) {
        unmaskedTunings.get(i).validate("axes.unmaskedTunings[" + i + "].", errors);
      }
    }
  }

  private static <T> List<T> copy(List<T> values) {
    // Not List.copyOf: it rejects nulls (and List.of().contains(null) throws), while validate()
    // should name an axis with an empty value.
    return Collections.unmodifiableList(
        values == null ? new ArrayList<>() : new ArrayList<>(values));
  }

  private static void checkAxis(String field, List<?> values, List<String> errors) {
    if (values.contains(null)) {
      errors.add(field + ": contains an empty value");
    } else if (new HashSet<>(values).size() != values.size()) {
      errors.add(field + ": repeats a value " + values);
    }
  }
}
