#!/bin/bash
# build.sh [DIR [meson options...]]: configure (once) and build. Default
# DIR=build with gcc; build-asan uses clang with ASan+UBSan and libFuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
if [ ! -f "$dir/build.ninja" ]; then
	case $dir in
	*asan*)
		CC=clang meson setup "$dir" -Db_sanitize=address,undefined -Db_lundef=false \
			-Dfuzz=enabled "$@" ;;
	*)
		meson setup "$dir" "$@" ;;
	esac
fi
ninja -C "$dir"
