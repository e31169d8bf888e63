#!/bin/sh
# The bucket, and an access key for the workers that can read and write objects but not administer
# MinIO (the root credentials stay with this job and the MinIO container).
set -eu
mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "local/$BUCKET"
mc admin user add local "$FLIPFLOW_S3_ACCESS_KEY" "$FLIPFLOW_S3_SECRET_KEY"
mc admin policy attach local readwrite --user "$FLIPFLOW_S3_ACCESS_KEY" 2>/dev/null \
  || echo "policy readwrite already attached to $FLIPFLOW_S3_ACCESS_KEY"
echo "bucket $BUCKET ready"
