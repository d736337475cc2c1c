#!/bin/bash
# test.sh: install what the tests need, build twice (gcc; clang with
# ASan+UBSan and libFuzzer) and run every default suite (unit, fuzz,
# integration) in both builds. bench is separate: meson test -C build --suite bench.
# Needs root (netns labs, Docker). Ends with meson's test summary.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh test || exit 1
tools/docker-up.sh || echo "test.sh: no Docker daemon: the classic-mode test will fail" >&2
tools/build.sh build || exit 1
tools/build.sh build-asan || exit 1
rc=0
echo "=== sanitizer build (clang, ASan+UBSan, libFuzzer) ==="
meson test -C build-asan --print-errorlogs --num-processes 2 || rc=1
echo "=== release build (gcc) ==="
meson test -C build --print-errorlogs --num-processes 2 || rc=1
exit $rc
