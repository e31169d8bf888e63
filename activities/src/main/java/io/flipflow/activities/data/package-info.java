/**
 * Data: S3 ({@code s3}), WebDataset shards ({@code webdataset}), caption tokenizers ({@code
 * tokenizer}), the one image decoding and preprocessing of training and evaluation ({@code image}),
 * the importers that write img2dataset-shaped sets ({@code emoji}, {@code fashion}, {@code eval},
 * {@code npm}), and staging ({@code staging}: raw shards to training-ready ones in three steps that
 * many workers share, plan, shard groups and publish, and the reader training streams them with:
 * windows of shards, shuffled or resampled, through a worker's bounded shard cache, each rank
 * decoding its share). {@link io.flipflow.activities.data.DataActivitiesImpl} holds the staging
 * activities of the cpu queue.
 *
 * <p>May import: {@code support}, the db's data-issue store, the workflows' records, the AWS SDK,
 * commons compress, parquet (without Hadoop), ImageIO and its plug-ins; {@code model} only for the
 * context length of old pipelines' staging requests. Not {@code train} or {@code eval}.
 */
package io.flipflow.activities.data;
