# shellcheck shell=bash
# Shared helpers for scripts/test, scripts/demo and friends. Source it, don't run it.
#
#   dr_install_deps            install the Debian packages the project needs (as root)
#   dr_build DIR [cmake args]  configure and build the project into DIR
#   dr_pg_start / dr_pg_stop   a throw-away PostgreSQL 15 server on 127.0.0.1
#
# PostgreSQL refuses to run as root, so the server runs as user `postgres` in a temp
# dir, on a free port, with a TimeZone that is deliberately not UTC (SPEC section 10).

DR_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Every Debian package a build, the tests or the demo need. Append with
#   DR_APT_PACKAGES+=(name ...)
# (libcurl4-openssl-dev: the mail and sftp delivery plugins, the flavour of libcurl built
# with libssh2; libssl-dev: libcrypto's SHA-256 for the dir delivery's manifest;
# python3-aiosmtpd, openssh-server, openssh-client: the SMTP and SSH servers and
# ssh-keygen of tests/integration/test_delivery_*.py)
# (clang + libclang-rt-14-dev: the libFuzzer stage; util-linux / mount: the tests mount
# tmpfs and bind mounts as output directories; valgrind: the memcheck stage; scdoc: the
# man pages; man-db and systemd: the package stage's man -w and systemd-analyze)
DR_APT_PACKAGES=(
    build-essential cmake pkg-config git
    unixodbc unixodbc-dev odbc-postgresql
    libcsv-dev libcunit1-dev libxlsxwriter-dev libjson-c-dev
    postgresql postgresql-contrib
    python3 python3-psycopg2 python3-openpyxl
    libreoffice-calc-nogui poppler-utils
    valgrind time procps ca-certificates
    clang libclang-rt-14-dev
    util-linux mount
    scdoc man-db systemd
    libcurl4-openssl-dev libssl-dev python3-aiosmtpd openssh-server openssh-client
)

# Use the PostgreSQL 15 binaries by full path: other tools called pg_ctl/initdb may be on PATH.
DR_PG_BIN="${DR_PG_BIN:-/usr/lib/postgresql/15/bin}"
DR_PG_TIMEZONE="${DR_PG_TIMEZONE:-Pacific/Auckland}"
DR_ODBC_DRIVER="PostgreSQL Unicode"

dr_section() {
    printf '\n==== %s ====\n' "$*" >&2
}

dr_log() {
    printf 'dr: %s\n' "$*" >&2
}

dr_die() {
    printf 'dr: error: %s\n' "$*" >&2
    return 1
}

# Prints the names of packages from DR_APT_PACKAGES that are not installed.
dr_missing_packages() {
    local p status
    for p in "${DR_APT_PACKAGES[@]}"; do
        status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)"
        if [[ "$status" != ii* ]]; then
            printf '%s\n' "$p"
        fi
    done
}

# Run a command as root: directly when we are root, else through sudo if there is one.
dr_as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        dr_die "need root to run: $*"
    fi
}

# Installs missing packages (apt-get update only when something is missing) and makes
# sure the psqlODBC driver is registered with unixODBC under "PostgreSQL Unicode".
dr_install_deps() {
    if [[ "${DR_SKIP_DEPS:-0}" == 1 ]]; then
        dr_log "DR_SKIP_DEPS=1: not checking packages"
        return 0
    fi
    local missing
    missing="$(dr_missing_packages | tr '\n' ' ')"
    if [[ -n "${missing// /}" ]]; then
        dr_log "installing missing packages: $missing"
        dr_as_root apt-get update || return 1
        dr_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            "${DR_APT_PACKAGES[@]}" || return 1
    else
        dr_log "all ${#DR_APT_PACKAGES[@]} packages already installed"
    fi
    dr_odbc_register_driver
}

# odbc-postgresql's postinst normally registers its drivers in /etc/odbcinst.ini; when
# that did not happen (or the file was reset) register them from the packaged template.
dr_odbc_register_driver() {
    if odbcinst -q -d -n "$DR_ODBC_DRIVER" >/dev/null 2>&1; then
        dr_odbc_quiet_driver
        return 0
    fi
    local tmpl=/usr/share/psqlodbc/odbcinst.ini.template
    [[ -r "$tmpl" ]] || { dr_die "ODBC driver '$DR_ODBC_DRIVER' is not registered and $tmpl is missing"; return 1; }
    dr_log "registering ODBC driver '$DR_ODBC_DRIVER' from $tmpl"
    dr_as_root odbcinst -i -d -f "$tmpl" >/dev/null || return 1
    odbcinst -q -d -n "$DR_ODBC_DRIVER" >/dev/null 2>&1 ||
        { dr_die "ODBC driver '$DR_ODBC_DRIVER' still not registered after odbcinst -i"; return 1; }
    dr_odbc_quiet_driver
}

# Debian's psqlODBC template registers the driver with CommLog=1 (and Debug=0). These
# driver-wide switches of odbcinst.ini are read when psqlODBC is loaded, before any
# connection string, and no connection string can stop them: with CommLog=1 every process
# that connects leaves a /tmp/psqlodbc_*.log behind (and valgrind sees the logger's
# uninitialised reads); with Debug=1 psqlODBC writes the connection string, password
# included, into /tmp/mylog_*.log. A DSN's CommLog/Debug (odbc.ini) is different: the
# tool's connection string overrides it, as the tool appends CommLog=0;Debug=0 unless
# the user set them. So the script keeps turning the driver-wide CommLog off on the test
# machine (Debug stays 0, as the template has it).
dr_odbc_quiet_driver() {
    local ini
    ini="$(odbcinst -j 2>/dev/null | awk -F': ' '/^DRIVERS/ {print $2}')"
    [[ -n "$ini" && -w "$ini" ]] || return 0
    if grep -q '^CommLog=1' "$ini"; then
        dr_log "turning off psqlODBC's CommLog in $ini"
        sed -i 's/^CommLog=1/CommLog=0/' "$ini"
    fi
}

# dr_build BUILD_DIR [extra cmake args...]
dr_build() {
    local dir="${1:?usage: dr_build BUILD_DIR [cmake args...]}"
    shift
    cmake -S "$DR_REPO_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDR_WERROR=ON "$@" &&
        cmake --build "$dir" -j2
}

# Runs a command as the postgres OS user (PostgreSQL will not run as root).
dr_pg_as_postgres() {
    if [[ "$(id -u)" -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Prints a TCP port on 127.0.0.1 that nothing listens on right now.
dr_free_port() {
    if [[ -x /usr/bin/python3 ]]; then
        /usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local p
    for ((p = 54321; p < 54421; p++)); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    dr_die "no free TCP port found in 54321..54420"
}

dr_random_password() {
    od -An -tx1 -N16 /dev/urandom | tr -d ' \n'
}

# Starts a private PostgreSQL server and exports how to reach it:
#   DR_PG_DIR DR_PG_PORT DR_PG_PASSWORD (role dynoreport) DR_PG_SUPERUSER_PASSWORD
#   DYNOREPORT_TEST_PG        libpq conninfo, role dynoreport, over TCP
#   DYNOREPORT_TEST_CONNECT   ODBC connection string, role dynoreport, over TCP
#   DYNOREPORT_TEST_PG_ADMIN  libpq conninfo, superuser postgres, over the unix socket
# Pair it with: trap dr_pg_stop EXIT
dr_pg_start() {
    if [[ -n "${DR_PG_DIR:-}" && -d "${DR_PG_DIR}" ]]; then
        dr_die "a server is already running in $DR_PG_DIR (call dr_pg_stop first)"
        return 1
    fi
    [[ -x "$DR_PG_BIN/initdb" && -x "$DR_PG_BIN/pg_ctl" ]] ||
        { dr_die "PostgreSQL 15 binaries not found in $DR_PG_BIN (is package postgresql installed?)"; return 1; }
    id postgres >/dev/null 2>&1 || { dr_die "OS user 'postgres' does not exist"; return 1; }

    # Not under $TMPDIR: that may sit in a directory the postgres user cannot enter.
    DR_PG_DIR="$(mktemp -d "${DR_PG_TMPROOT:-/tmp}/dynoreport-pg.XXXXXX")" || return 1
    export DR_PG_DIR
    # The top dir holds the socket and the log and must be reachable by clients; the
    # data dir below it is private to postgres, as initdb requires.
    chmod 755 "$DR_PG_DIR"
    if [[ "$(id -u)" -eq 0 ]]; then
        chown postgres:postgres "$DR_PG_DIR" || { dr_pg_stop; return 1; }
    fi

    DR_PG_SUPERUSER_PASSWORD="$(dr_random_password)"
    DR_PG_PASSWORD="$(dr_random_password)"
    export DR_PG_SUPERUSER_PASSWORD DR_PG_PASSWORD

    local pwfile="$DR_PG_DIR/superuser.pw"
    printf '%s\n' "$DR_PG_SUPERUSER_PASSWORD" >"$pwfile"
    chmod 600 "$pwfile"
    if [[ "$(id -u)" -eq 0 ]]; then chown postgres:postgres "$pwfile"; fi

    if ! dr_pg_as_postgres "$DR_PG_BIN/initdb" -D "$DR_PG_DIR/data" -U postgres \
            --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
            --encoding=UTF8 --locale=C.UTF-8 --no-instructions >"$DR_PG_DIR/initdb.log" 2>&1; then
        cat "$DR_PG_DIR/initdb.log" >&2
        dr_pg_stop
        dr_die "initdb failed"
        return 1
    fi
    rm -f "$pwfile"

    local attempt port started=0
    for attempt in 1 2 3 4 5; do
        port="$(dr_free_port)" || { dr_pg_stop; return 1; }
        # Later settings win over initdb's, so appending is enough.
        cat >>"$DR_PG_DIR/data/postgresql.conf" <<EOF

# --- dynoreport test server (attempt $attempt) ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$DR_PG_DIR'
timezone = '$DR_PG_TIMEZONE'
log_timezone = '$DR_PG_TIMEZONE'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
EOF
        if dr_pg_as_postgres "$DR_PG_BIN/pg_ctl" -D "$DR_PG_DIR/data" -l "$DR_PG_DIR/postgres.log" \
                -w -t 60 start >/dev/null 2>&1; then
            started=1
            break
        fi
        dr_log "PostgreSQL did not start on port $port (attempt $attempt); retrying"
    done
    if [[ "$started" != 1 ]]; then
        tail -n 30 "$DR_PG_DIR/postgres.log" >&2 2>/dev/null || true
        dr_pg_stop
        dr_die "could not start PostgreSQL (log above)"
        return 1
    fi
    DR_PG_PORT="$port"
    export DR_PG_PORT

    if ! "$DR_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DR_PG_DIR" -p "$DR_PG_PORT" -U postgres -d postgres \
            -c "CREATE ROLE dynoreport LOGIN CREATEDB PASSWORD '$DR_PG_PASSWORD'" \
            -c "CREATE DATABASE dynoreport OWNER dynoreport" >&2; then
        dr_pg_stop
        dr_die "could not create role/database dynoreport"
        return 1
    fi

    export DYNOREPORT_TEST_PG="host=127.0.0.1 port=$DR_PG_PORT dbname=dynoreport user=dynoreport password=$DR_PG_PASSWORD"
    export DYNOREPORT_TEST_CONNECT="Driver=$DR_ODBC_DRIVER;Server=127.0.0.1;Port=$DR_PG_PORT;Database=dynoreport;Uid=dynoreport;Pwd=$DR_PG_PASSWORD;"
    export DYNOREPORT_TEST_PG_ADMIN="host=$DR_PG_DIR port=$DR_PG_PORT dbname=dynoreport user=postgres password=$DR_PG_SUPERUSER_PASSWORD"
    dr_log "PostgreSQL $("$DR_PG_BIN/postgres" -V | awk '{print $3}') running on 127.0.0.1:$DR_PG_PORT (data in $DR_PG_DIR, TimeZone $DR_PG_TIMEZONE)"
}

# Stops the server started by dr_pg_start and removes its directory. Safe to call twice
# and safe to call when nothing was started (for `trap dr_pg_stop EXIT`).
dr_pg_stop() {
    local dir="${DR_PG_DIR:-}"
    if [[ -n "$dir" && -d "$dir" ]]; then
        if [[ -f "$dir/data/postmaster.pid" ]]; then
            local pid i
            pid="$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)"
            dr_pg_as_postgres "$DR_PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
                dr_log "warning: pg_ctl stop failed for $dir/data"
            # pg_ctl returns once the pid file is gone, a moment before the postmaster
            # has exited; wait for it (and end it if it hangs) before removing its files.
            if [[ "$pid" =~ ^[0-9]+$ ]]; then
                for ((i = 0; i < 100; i++)); do
                    kill -0 "$pid" 2>/dev/null || break
                    sleep 0.1
                done
                if kill -0 "$pid" 2>/dev/null; then
                    dr_log "warning: postmaster $pid still running; killing it"
                    kill -KILL "$pid" 2>/dev/null || true
                fi
            fi
        fi
        # Only ever remove what dr_pg_start made.
        case "$dir" in
            */dynoreport-pg.*) rm -rf -- "$dir" ;;
        esac
    fi
    unset DR_PG_DIR DR_PG_PORT DR_PG_PASSWORD DR_PG_SUPERUSER_PASSWORD
    unset DYNOREPORT_TEST_PG DYNOREPORT_TEST_CONNECT DYNOREPORT_TEST_PG_ADMIN
    return 0
}
