#!/usr/bin/env bash
# Install (Debian packages) and start Redis and PostgreSQL on loopback for the scale-out tests.
# Idempotent: a second run on the same machine finds them installed/running and does nothing.
# Creates the role/database named by EVALSCOPE_TEST_PG (default evalscope/evalscope on 127.0.0.1:5432).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if ! command -v redis-server >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq redis-server postgresql >/dev/null
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    # No snapshots or append-only file: job messages (which carry API keys) never reach disk.
    $SUDO redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null
fi
PGVER=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$PGVER "; then
    $SUDO pg_createcluster "$PGVER" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$PGVER" '$1==v && $2=="main" {print $4}' | grep -q online; then
    $SUDO pg_ctlcluster "$PGVER" main start
fi
for _ in $(seq 1 50); do
    if $SUDO -u postgres psql -qAtc 'select 1' >/dev/null 2>&1 || su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1; then break; fi
    sleep 0.2
done
psql_pg() { if [ -n "$SUDO" ]; then sudo -u postgres psql -qAt -c "$1"; else su postgres -c "psql -qAt -c \"$1\""; fi; }
if [ "$(psql_pg "select 1 from pg_roles where rolname='evalscope'")" != 1 ]; then
    psql_pg "create role evalscope login password 'evalscope' createdb"
fi
# Tests drop their databases WITH (FORCE), which must also end an autovacuum worker on them.
psql_pg "grant pg_signal_backend to evalscope" >/dev/null
if [ "$(psql_pg "select 1 from pg_database where datname='evalscope'")" != 1 ]; then
    psql_pg "create database evalscope owner evalscope"
fi
echo "redis on 127.0.0.1:6379, postgresql $PGVER on 127.0.0.1:5432 (role/db evalscope)"
