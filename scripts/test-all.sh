#!/usr/bin/env bash
# Everything CI checks, in order: system packages, Node 24, build, lint, a private LXD daemon, then the whole
# vitest suite on the system's Node (20) and again on Node 24. Runs every step it can, prints one line per step and
# a closing "N passed, N failed" line, and exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/cuttle-test-all.XXXXXX")
results=()   # "step: ok|FAILED|skipped (detail)"
failed=0
passed_tests=0
failed_tests=0
skipped_tests=0

note() { results+=("$1"); [[ $1 == *FAILED* ]] && failed=1; return 0; }
banner() { printf '\n==> %s\n' "$1"; }

lxd_started=0
stop_lxd() {
  ((lxd_started)) || return 0
  lxd_started=0
  banner 'stopping the private LXD daemon'
  if bash scripts/lxd-daemon.sh stop </dev/null; then note 'lxd stop: ok'; else note 'lxd stop: FAILED'; fi
}
cleanup() {
  stop_lxd
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. Debian packages (as root; otherwise it lists what is missing).
banner 'system packages (scripts/install-deps.sh)'
export CUTTLE_APT_LOG=$work/apt.log
if bash scripts/install-deps.sh; then note 'packages: ok'; else note 'packages: FAILED'; fi

# The README's quick start and .ci/run must not drift apart: its first sh block is two lines, the second is .ci/run.
banner 'README quick start = .ci/run'
quick=$(awk '/^## Quick start/ {q = 1} q && /^```sh/ {b = 1; next} b && /^```/ {exit} b' README.md)
ci_line=$(grep -v -e '^#' -e '^set ' -e '^$' .ci/run)
if [[ $(wc -l <<<"$quick") -eq 2 ]] && [[ $(sed -n 2p <<<"$quick") == "$ci_line" ]]; then
  note 'readme: ok'
else
  printf 'README quick start block:\n%s\n.ci/run:\n%s\n' "$quick" "$ci_line"
  note 'readme: FAILED (the quick start block must be two lines, the second equal to .ci/run)'
fi

# 2. Node 24 for the second run.
banner 'Node 24 (scripts/node24.sh)'
if node24=$(bash scripts/node24.sh); then
  echo "$node24 ($("$node24" --version))"
  note 'node24: ok'
else
  node24=
  note 'node24: FAILED'
fi

# 3. Build and lint. Tests spawn the compiled CLIs, so the build comes first.
banner 'pnpm build'
if pnpm build; then note 'build: ok'; else note 'build: FAILED'; fi
banner 'pnpm lint'
if pnpm lint; then note 'lint: ok'; else note 'lint: FAILED'; fi

# 4. A private LXD daemon (its own LXD_DIR) for the provisioning tests; stopped on exit.
export CUTTLE_NODE24=${node24:-${CUTTLE_NODE24:-}}
export LXD_DIR=${LXD_DIR:-/tmp/cuttle-lxd}
if [[ -f scripts/lxd-daemon.sh ]] && [[ $(id -u) -eq 0 ]]; then
  banner "private LXD daemon (LXD_DIR=$LXD_DIR)"
  lxd_started=1
  # Through a file, so a daemon that inherits stdout cannot hold CI's output pipe open after the run.
  if bash scripts/lxd-daemon.sh start </dev/null >"$work/lxd-start.log" 2>&1; then
    note 'lxd: ok'
  else
    note 'lxd: FAILED'
  fi
  cat "$work/lxd-start.log"
fi

# 5. The suite, once per Node. Children the tests spawn with process.execPath, or `node` from PATH, use the same Node.
run_vitest() { # NAME NODE_BINARY [VITEST ARGS...]
  local name=$1 node=$2 json=$work/vitest-$1.json rc counts
  shift 2
  banner "vitest on $name ($("$node" --version))"
  # A bound per run, so a hung test cannot eat CI's 90 minutes; 124 means it was hit.
  PATH="$(dirname "$node"):$PATH" timeout --kill-after=30 "${CUTTLE_VITEST_TIMEOUT:-2100}" \
    "$node" node_modules/vitest/vitest.mjs run --reporter=default --reporter=json --outputFile.json="$json" "$@"
  rc=$?
  ((rc == 124)) && echo "test-all: vitest on $name was stopped after ${CUTTLE_VITEST_TIMEOUT:-2100} s" >&2
  # passed failed skipped, from the JSON report; a file that failed to load counts as one failure.
  if counts=$(node -e '
    const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    const broken = r.testResults.filter((f) => f.status === "failed" &&
      !f.assertionResults.some((a) => a.status === "failed")).length;
    console.log(r.numPassedTests, r.numFailedTests + broken, r.numPendingTests + r.numTodoTests);
  ' "$json" 2>/dev/null); then
    read -r p f s <<<"$counts"
  else
    p=0 f=1 s=0
    echo "test-all: vitest on $name wrote no report" >&2
  fi
  passed_tests=$((passed_tests + p)) failed_tests=$((failed_tests + f)) skipped_tests=$((skipped_tests + s))
  # With CI=true a skipped test is a failure: it hides a missing package or daemon.
  if [[ ${CI:-} == true ]] && ((s > 0)); then
    note "vitest $name: FAILED ($s skipped with CI=true; $p passed, $f failed)"
  elif ((rc == 0 && f == 0)); then
    note "vitest $name: ok ($p passed, $s skipped)"
  else
    note "vitest $name: FAILED ($p passed, $f failed, $s skipped, exit $rc)"
  fi
}
run_vitest node20 "$(command -v node)"
# The bench smoke test already runs cuttle on Node 20 and Node 24 side by side, and the package tests run the
# package's own pinned Node 24 whichever Node runs vitest: once is enough for both.
if [[ -n $node24 ]]; then
  run_vitest node24 "$node24" --exclude 'bench/**' --exclude 'packaging/**' --exclude '**/node_modules/**'
fi

stop_lxd

# 6. Summary, with the counts line last.
banner 'summary'
printf '  %s\n' "${results[@]}"
if ((failed)); then echo 'test-all: FAILED'; else echo 'test-all: all steps ok'; fi
echo "test-all: $passed_tests passed, $failed_tests failed, $skipped_tests skipped"
exit "$failed"
