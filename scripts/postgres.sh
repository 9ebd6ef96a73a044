#!/usr/bin/env bash
# Install (Debian) and start a PostgreSQL server on 127.0.0.1:5432 with a `trainlab` role and
# database, for the tests of the multi-machine Optuna search. Safe to run again.
set -euo pipefail
SUDO=""; AS_PG="sudo -u postgres"
[ "$(id -u)" = 0 ] && AS_PG="runuser -u postgres --" || SUDO=sudo
if ! command -v pg_ctlcluster >/dev/null; then
  if ! command -v apt-get >/dev/null; then
    echo "note: no apt-get; PostgreSQL tests will skip"; exit 0
  fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
  $SUDO pg_createcluster "$version" main >/dev/null
fi
# Loopback only: nothing outside this machine can reach the test server.
$SUDO sed -i "s/^#\?listen_addresses.*/listen_addresses = '127.0.0.1'/" \
  "/etc/postgresql/$version/main/postgresql.conf"
pg_lsclusters -h | grep "^$version main" | grep -q online || $SUDO pg_ctlcluster "$version" main start
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
run_sql() { $AS_PG psql -q -v ON_ERROR_STOP=1 -c "$1" >/dev/null; }
$AS_PG psql -tAc "SELECT 1 FROM pg_roles WHERE rolname='trainlab'" | grep -q 1 \
  || run_sql "CREATE ROLE trainlab LOGIN PASSWORD 'trainlab' CREATEDB"
$AS_PG psql -tAc "SELECT 1 FROM pg_database WHERE datname='trainlab_test'" | grep -q 1 \
  || run_sql "CREATE DATABASE trainlab_test OWNER trainlab"
echo "postgresql $version on 127.0.0.1:5432 (postgresql://trainlab:trainlab@127.0.0.1:5432/trainlab_test)"
