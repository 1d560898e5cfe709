#!/bin/sh
# Runs once, after the influxdb:2.7 image's first setup (it runs /docker-entrypoint-initdb.d/*.sh
# with the influx CLI logged in as the admin): the buckets of the rollup tiers, which the processor
# checks at start and never creates (docs/influxdb-schema.md, "Tiers and retention"), with the
# processor's default retention (1m kept 365d, 1h forever), and their DBRP mappings so InfluxQL
# (Grafana's dashboard) reads "fieldline"."rollup_1m"."readings_1m" as on 1.x. The raw bucket is
# DOCKER_INFLUXDB_INIT_BUCKET (30d, DOCKER_INFLUXDB_INIT_RETENTION). Keep TIERS in step with
# config/processor.yaml's `tiers` (deploy/compose/compose.test.ts checks it).
set -eu
TIERS="1m:365d 1h:0"
org="$DOCKER_INFLUXDB_INIT_ORG"
raw="$DOCKER_INFLUXDB_INIT_BUCKET"
for tier in $TIERS; do
  name="${tier%%:*}"
  influx bucket create --org "$org" --name "${raw}_${name}" --retention "${tier#*:}"
  id="$(influx bucket find --org "$org" --name "${raw}_${name}" --hide-headers | cut -f1)"
  influx v1 dbrp create --org "$org" --db "$raw" --rp "rollup_${name}" --bucket-id "$id"
done
