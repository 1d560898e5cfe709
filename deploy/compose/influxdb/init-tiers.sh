#!/bin/sh
# Runs once, after the influxdb:2.7 image's first setup (it runs /docker-entrypoint-initdb.d/*.sh
# with the influx CLI logged in as the admin):
# - the buckets of the rollup tiers, which the processor checks at start and never creates
#   (docs/influxdb-schema.md, "Tiers and retention"), with the processor's default retention
#   (1m kept 365d, 1h forever); the raw bucket is DOCKER_INFLUXDB_INIT_BUCKET (30d);
# - DBRP mappings, so InfluxQL (Grafana's dashboard) reads "fieldline"."rollup_1m"."readings_1m"
#   as on 1.x;
# - a read-only v1 user for Grafana's InfluxQL datasource (2.x's v1 API takes no 2.x login, only a
#   token or a v1 user: `influx v1 auth`), user "grafana", password GRAFANA_INFLUX_PASSWORD.
# Keep TIERS in step with config/processor.yaml's `tiers` (deploy/compose/compose.test.ts checks it).
set -eu
TIERS="1m:365d 1h:0"
org="$DOCKER_INFLUXDB_INIT_ORG"
raw="$DOCKER_INFLUXDB_INIT_BUCKET"
id_of() { influx bucket find --org "$org" --name "$1" --hide-headers | cut -f1; }
read_buckets="--read-bucket $(id_of "$raw")"
for tier in $TIERS; do
  name="${tier%%:*}"
  influx bucket create --org "$org" --name "${raw}_${name}" --retention "${tier#*:}"
  id="$(id_of "${raw}_${name}")"
  influx v1 dbrp create --org "$org" --db "$raw" --rp "rollup_${name}" --bucket-id "$id"
  read_buckets="$read_buckets --read-bucket $id"
done
# shellcheck disable=SC2086 # one --read-bucket flag per bucket
influx v1 auth create --org "$org" --username grafana --password "$GRAFANA_INFLUX_PASSWORD" $read_buckets
