#!/usr/bin/env bash
# Executes every notebook in notebooks/ headless against a results root and writes their PNGs
# next to the results they read (results/<experiment>/<timestamp>/*.png).
#
#   scripts/notebooks.sh [RESULTS_ROOT]      default: $RESULTS_DIR, else results/
#
# Creates .venv (git-ignored) on first use and installs requirements.txt into it, again only
# when requirements.txt changes. Executed copies of the notebooks, with their outputs, go to
# $NOTEBOOKS_OUT (default .build-notebooks/, git-ignored); the notebooks in git stay clean.
# Exits non-zero, naming the notebook, if any cell of any notebook raises.
# REQUIRE_RUNS=1 makes a notebook fail when none of its experiments has a run.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
root="${1:-${RESULTS_DIR:-results}}"
out="${NOTEBOOKS_OUT:-.build-notebooks}"
venv="$repo/.venv"
die() { echo "notebooks: $*" >&2; exit 1; }

[ -d "$root" ] || die "results root '$root' does not exist (run 'timeslice run ...' first, or pass a directory)"
root="$(cd "$root" && pwd)"

command -v python3 >/dev/null || die "python3 is not installed (Debian: apt-get install python3 python3-venv)"
if [ ! -x "$venv/bin/python" ]; then
    # Debian ships the venv module without ensurepip unless python3-venv is installed, so
    # `python3 -m venv` fails there; say what to install instead of leaving a half venv.
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        rm -rf "$venv"
        die "python3 -m venv is unavailable: install python3-venv (apt-get install python3-venv)"
    fi
fi

stamp="$venv/.requirements.sha256"
want="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "notebooks: installing requirements.txt into .venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt
    echo "$want" > "$stamp"
fi

mkdir -p "$out"
failed=()
for nb in notebooks/*.ipynb; do
    echo "notebooks: executing $nb against $root"
    # nbconvert runs the kernel in the notebook's directory, so `import timeslice_plots` works;
    # PYTHONPATH covers kernels started elsewhere. ipykernel's warning about its loopback TCP
    # transport is dropped: it is noise on every run, and the IPC transport breaks when the
    # kernel's directory differs from ours.
    if ! RESULTS_DIR="$root" PYTHONPATH="$repo/notebooks${PYTHONPATH:+:$PYTHONPATH}" \
        "$venv/bin/jupyter" nbconvert --to notebook --execute \
            --ExecutePreprocessor.kernel_name=python3 --ExecutePreprocessor.timeout=600 \
            --output-dir "$out" --log-level=WARN "$nb" \
            2> >(grep -v --line-buffered "Kernel is running over TCP without encryption" >&2); then
        failed+=("$nb")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo >&2
    echo "notebooks: FAILED: ${failed[*]}" >&2
    echo "notebooks: the executed copies in $out/ show the failing cell and its traceback" >&2
    exit 1
fi
echo "notebooks: all $(ls notebooks/*.ipynb | wc -l) notebooks ran; PNGs are in the run directories under $root"
