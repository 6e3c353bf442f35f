#!/usr/bin/env bash
# clang-format over every C++ file git knows (.clang-format: Google style, 100 columns).
# `scripts/format.sh` rewrites them; `scripts/format.sh --check` changes nothing and fails
# listing the files that differ (ctest style.clang_format_clean, .ci/run).
set -uo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cpp' '*.hpp')
if [ "${1:-}" != "--check" ]; then
  # New files not yet added to git are formatted too.
  { echo "$files"; git ls-files --others --exclude-standard '*.cpp' '*.hpp'; } | xargs clang-format -i
  exit 0
fi
bad=0
for f in $files; do
  if ! clang-format --dry-run --Werror "$f" > /dev/null 2>&1; then
    echo "not clang-formatted: $f (scripts/format.sh rewrites it)" >&2
    bad=1
  fi
done
[ $bad -eq 0 ] && echo "clang-format: $(echo "$files" | wc -l) files clean ($(clang-format --version | head -1))"
exit $bad
