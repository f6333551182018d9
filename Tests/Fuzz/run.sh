#!/usr/bin/env bash
# Fuzzes the readers of every file a user hands the programs (safetensors checkpoints,
# Fashion-MNIST IDX files, design-space study logs) with libFuzzer and AddressSanitizer, each
# for the given number of seconds, starting from the seed files in Tests/Fuzz/corpus. Fails on
# any crash, hang (10 s per input), leak or out-of-memory, leaving the input that did it in
# .build-fuzz/artifacts. Usage: Tests/Fuzz/run.sh [seconds per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
export MODERNCNNS_FUZZ=1
flags=(--scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
status=0
for pair in FuzzSafeTensors:safetensors FuzzIDX:idx FuzzStudyLog:studylog; do
  target=${pair%%:*}; seeds=Tests/Fuzz/corpus/${pair##*:}
  swift build "${flags[@]}" --product "$target" 2>&1 | grep -E "error|warning: unre|Compiling|Build" | tail -1
  work=.build-fuzz/corpus/$target; artifacts=.build-fuzz/artifacts
  mkdir -p "$work" "$artifacts"
  log=.build-fuzz/$target.log
  if "$(swift build "${flags[@]}" --show-bin-path)/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$artifacts/$target-" "$work" "$seeds" > "$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "$target: $runs inputs in ${seconds} s, no crash, hang or leak"
  else
    status=1
    echo "$target FAILED; the input is in $artifacts (see $log):"
    grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -5
  fi
done
exit $status
