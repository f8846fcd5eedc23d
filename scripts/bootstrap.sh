# Sourced by scripts/run and scripts/test: makes sure `uv` exists and the workspace venv is current.
# Works on a fresh Debian machine: uv goes into a private venv, never into the system Python.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export UV_PYTHON_DOWNLOADS=never  # use the machine's python3 (>= 3.11); no toolchain downloads

if ! command -v uv >/dev/null 2>&1; then
  tools="${XDG_CACHE_HOME:-$HOME/.cache}/agentwinter-tools"
  if [ ! -x "$tools/bin/uv" ]; then
    python3 -m venv "$tools"
    "$tools/bin/pip" install --quiet --disable-pip-version-check uv
  fi
  export PATH="$tools/bin:$PATH"
fi

# Core, every plugin and the test tools, in .venv (see [tool.uv.workspace] in pyproject.toml). A new venv is
# compiled as it is made (~5 s, once), as pip would: with PYTHONDONTWRITEBYTECODE set, every start would
# compile the SDK (~1 s). Not on later syncs: compiling checks every file again (~0.2 s on each start).
compile=()
[ -d "$ROOT/.venv" ] || compile=(--compile-bytecode)
(cd "$ROOT" && uv sync --all-packages --all-extras --python python3 --quiet "${compile[@]}")
