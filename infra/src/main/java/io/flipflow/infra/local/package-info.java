/**
 * The local stack on 127.0.0.1: Temporal (the CLI's dev server, else the in-memory Java server),
 * embedded PostgreSQL, embedded S3 (s3proxy), each started only where no address is configured.
 * PostgreSQL and S3 accept only the secrets of the state folder ({@code
 * io.flipflow.infra.config.LocalSecrets}): a password (SCRAM) for every login, signed requests.
 *
 * <p>May import: {@code config}, the db module, the embedded servers' libraries.
 */
package io.flipflow.infra.local;
