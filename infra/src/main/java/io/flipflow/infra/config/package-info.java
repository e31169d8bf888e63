/**
 * Settings ({@code config/flipflow.properties}, overridable by environment variables or a file
 * named by {@code FLIPFLOW_CONFIG}) and the clients they make: Temporal (TLS, API key), PostgreSQL,
 * S3.
 *
 * <p>May import: the db and activities' S3 settings, the Temporal SDK.
 */
package io.flipflow.infra.config;
