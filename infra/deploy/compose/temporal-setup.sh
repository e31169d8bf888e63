#!/bin/sh
# The namespace and flipflow's search attributes (the same list `flipflow up` gives the dev server).
set -eu
ns="${TEMPORAL_NAMESPACE:-default}"
until temporal operator cluster health >/dev/null 2>&1; do echo "waiting for $TEMPORAL_ADDRESS"; sleep 2; done
temporal operator namespace describe -n "$ns" >/dev/null 2>&1 \
  || temporal operator namespace create -n "$ns" --retention 30d
# a new namespace reaches the frontend's cache after some seconds
tries=0
until existing="$(temporal operator search-attribute list -n "$ns" 2>&1)"; do
  tries=$((tries + 1)); [ "$tries" -lt 60 ] || { echo "$existing" >&2; exit 1; }
  sleep 2
done
for attr in FlipStudy=Keyword FlipModel=Keyword FlipMaskRatio=Double FlipStage=Keyword FlipTop1=Double \
  FlipRun=Keyword FlipEvalSet=KeywordList; do
  name="${attr%%=*}"
  if echo "$existing" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    temporal operator search-attribute create -n "$ns" --name "$name" --type "${attr#*=}"
  fi
done
temporal operator search-attribute list -n "$ns"
