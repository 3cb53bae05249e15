#!/usr/bin/env bash
# Installs the system packages Timeslice needs on Debian/Ubuntu.
#   required: libnuma-dev (NUMA placement links against libnuma)
#   required when python3 lacks venv/ensurepip: python3-venv (notebook test, notebooks)
#   optional (--optional): golang-go (Go baseline), rt-tests (cyclictest cross-check)
#   guest (--guest): qemu-system-x86, busybox-static, linux-image-amd64 (`timeslice run --guest`,
#   make guest-test); never fails: without them the guest test says it skipped and why
# As root it installs what is missing; otherwise it prints the exact command and fails
# only when a required package is missing.
set -euo pipefail

required=(libnuma-dev)
# The notebook test (part of make test) builds a virtualenv; Debian's system Python
# needs python3-venv for that. A Python that already has venv and ensurepip does not.
if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    required+=(python3-venv)
fi
optional=()
if [[ "${1:-}" == "--optional" ]]; then
    optional=(golang-go rt-tests)
elif [[ "${1:-}" == "--guest" ]]; then
    required=()
    optional=(qemu-system-x86 busybox-static linux-image-amd64)
fi

missing() {
    local out=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || out+=("$p")
    done
    echo "${out[@]:-}"
}

miss_req=$(missing "${required[@]}")
miss_opt=""
[[ ${#optional[@]} -gt 0 ]] && miss_opt=$(missing "${optional[@]}")
want="$miss_req $miss_opt"
want="${want## }"; want="${want%% }"
[[ -z "${want// /}" ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: not a Debian system; install the equivalents of: $want" >&2
    [[ -z "${miss_req// /}" ]] && exit 0 || exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
    echo "install-deps: installing $want"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Optional packages may be unavailable on some mirrors: install the required ones first.
    [[ -n "${miss_req// /}" ]] && apt-get install -y -qq $miss_req
    if [[ -n "${miss_opt// /}" ]]; then
        apt-get install -y -qq $miss_opt || echo "install-deps: optional packages not installed: $miss_opt (their baselines will say so)" >&2
    fi
else
    echo "install-deps: missing packages: $want" >&2
    echo "install-deps: run: sudo apt-get install -y $want" >&2
    [[ -z "${miss_req// /}" ]] && exit 0 || exit 1
fi
