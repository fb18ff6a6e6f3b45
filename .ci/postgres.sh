#!/usr/bin/env bash
# A private PostgreSQL for the ledger's tests: installed from the OS packages when missing,
# started as the postgres user on a Unix socket in a new temporary folder (no TCP port, so
# nothing on the network), with a database made for the tests. Source it: it exports
# TIERPAY_TEST_POSTGRES_URL and TIERPAY_TEST_POSTGRES_DIR; `postgres_stop` stops the server.
# Where it cannot start one (not root, no apt), it says why and exports nothing: the tests
# that need it then skip, naming the variable.

postgres_start() {
  if [ "$(id -u)" != "0" ]; then
    echo "postgres: not root: not installing or starting PostgreSQL; the PostgreSQL ledger tests will skip"
    return 0
  fi
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ]; then
    echo "postgres: installing PostgreSQL from the OS packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql > /dev/null \
      || { echo "postgres: could not install PostgreSQL; the PostgreSQL ledger tests will skip"; return 0; }
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  fi
  TIERPAY_TEST_POSTGRES_DIR="$(mktemp -d)"
  chown postgres "$TIERPAY_TEST_POSTGRES_DIR"
  runuser -u postgres -- "$bin/initdb" -D "$TIERPAY_TEST_POSTGRES_DIR/data" -A trust -U postgres > /dev/null \
    && runuser -u postgres -- "$bin/pg_ctl" -D "$TIERPAY_TEST_POSTGRES_DIR/data" -w -l "$TIERPAY_TEST_POSTGRES_DIR/log" \
      -o "-k $TIERPAY_TEST_POSTGRES_DIR -c listen_addresses=''" start > /dev/null \
    && runuser -u postgres -- "$bin/createdb" -h "$TIERPAY_TEST_POSTGRES_DIR" tierpay_test \
    || { echo "postgres: could not start PostgreSQL (see $TIERPAY_TEST_POSTGRES_DIR/log); the PostgreSQL ledger tests will skip"; return 0; }
  export TIERPAY_TEST_POSTGRES_DIR
  export TIERPAY_TEST_POSTGRES_URL="postgresql+psycopg://postgres@/tierpay_test?host=$TIERPAY_TEST_POSTGRES_DIR"
  POSTGRES_BIN="$bin"
  echo "postgres: $("$bin/postgres" --version) running on $TIERPAY_TEST_POSTGRES_DIR"
}

postgres_stop() {
  if [ -n "${TIERPAY_TEST_POSTGRES_DIR:-}" ] && [ -n "${POSTGRES_BIN:-}" ]; then
    runuser -u postgres -- "$POSTGRES_BIN/pg_ctl" -D "$TIERPAY_TEST_POSTGRES_DIR/data" -m fast stop > /dev/null 2>&1 || true
    rm -rf "$TIERPAY_TEST_POSTGRES_DIR"
  fi
}
