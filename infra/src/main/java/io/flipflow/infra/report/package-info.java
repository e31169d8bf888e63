/**
 * {@code flipflow report}: PNG plots (JFreeChart) and a Markdown page of a study or of chosen runs,
 * drawn from the db's read model of the record.
 *
 * <p>May import: the db module, JFreeChart.
 */
package io.flipflow.infra.report;
