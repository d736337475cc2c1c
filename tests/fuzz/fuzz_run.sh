#!/bin/sh
# fuzz_run.sh HARNESS SEED_DIR RUNS MAX_SECONDS: one bounded libFuzzer run.
# New inputs and crash artifacts go to the build tree, never the source tree.
set -e
h=$1; seed=$2; runs=$3; secs=$4
work=$(dirname "$h")/$(basename "$h").work
mkdir -p "$work/corpus" "$work/artifacts"
# libFuzzer exits 77 on a crash by default, which meson reads as "skipped":
# a found bug must fail the suite.
exec "$h" -error_exitcode=1 -timeout_exitcode=1 -runs="$runs" -max_total_time="$secs" -max_len=4096 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seed"
