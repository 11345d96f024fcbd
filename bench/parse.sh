#!/usr/bin/env bash
# Parser speed: Gaia's PythonSyntax (release build) vs CPython's ast.parse, same corpus, same run.
# Usage: bench/parse.sh [CORPUS_DIR] [ROUNDS]   (default corpus: CPython 3.12's standard library)
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12.*/bin/python3.12 2>/dev/null | head -1 || true)
python=${GAIA_REFERENCE_PYTHON:-${python:-$(command -v python3.12 || command -v python3)}}
corpus=${1:-$("$python" -S -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')}
rounds=${2:-5}
echo "== building release"
swift build -c release --product parse-bench 2>&1 | tail -1
echo "== machine: $(nproc) cores, $(uname -m); corpus: $corpus"
echo "== Gaia PythonSyntax"
swift_out=$(.build/release/parse-bench "$corpus" --rounds "$rounds" | tee /dev/stderr)
echo "== CPython"
py_out=$("$python" -S bench/parse_cpython.py "$corpus" "$rounds" | tee /dev/stderr)
s=$(sed -n 's/^RESULT swift_seconds=\([0-9.]*\).*/\1/p' <<<"$swift_out")
c=$(sed -n 's/^RESULT cpython_seconds=\([0-9.]*\).*/\1/p' <<<"$py_out")
python3 -c "print(f'== speed-up over CPython ast.parse: {float($c)/float($s):.2f}x (CPython {float($c):.3f} s, Gaia {float($s):.3f} s)')"
