#!/bin/sh
# Installs what the service tests start for real: a PostgreSQL server (Debian's
# postgresql package; the tests make a throw-away cluster with initdb/pg_ctl)
# and curl (the README's service commands are run as written). It installs
# only what is missing and only as root; otherwise it says so, and the tests
# that need it skip with the reason.
need=""
found_pg=""
for dir in /usr/lib/postgresql/*/bin /usr/local/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
        found_pg=yes
    fi
done
[ -n "$found_pg" ] || need="$need postgresql"
command -v curl >/dev/null 2>&1 || need="$need curl"
if [ -z "$need" ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup_services:$need missing and cannot be installed here; the tests that need it will skip."
    exit 0
fi
echo "setup_services: installing$need ..."
if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need; }; then
    echo "setup_services: the install failed; the tests that need it will skip."
fi
exit 0
