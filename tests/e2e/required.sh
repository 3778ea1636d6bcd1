# shellcheck shell=bash
# Required stacks: the stacks this machine must test. GATEBOX_REQUIRED_STACKS (a
# space-separated list, set by scripts/test.sh from `make test REQUIRED_STACKS=...`; .ci/run
# names every stack but firecracker) turns a skip on such a stack into a failure: a green
# run then means the stack was tested, not that its check or service broke quietly.
#
# Two kinds of "not run", told apart in the output and by scripts/test-summary.py:
#   not_applicable REASON   the case does not apply to this stack (by design): "N/A: …", 77
#   skip_or_fail REASON     something this case needs is missing here: "SKIP: …", 77, or a
#                           failure when the stack (or, for a cross-stack check, any
#                           stack) is required.

# is_required STACK: whether STACK is in GATEBOX_REQUIRED_STACKS.
is_required() {
  case " ${GATEBOX_REQUIRED_STACKS:-} " in *" $1 "*) return 0 ;; esac
  return 1
}

# skip_or_fail LABEL STACK REASON: skips, unless STACK is required ("any": if any stack is).
skip_or_fail() {
  local label=$1 stack=$2
  shift 2
  if { [ "$stack" = any ] && [ -n "${GATEBOX_REQUIRED_STACKS:-}" ] && [ -n "${GATEBOX_REQUIRED_STACKS// /}" ]; } || is_required "$stack"; then
    echo "FAIL: $label: cannot run, though ${stack/any/the suite} is required here (GATEBOX_REQUIRED_STACKS=\"$GATEBOX_REQUIRED_STACKS\"): $*" >&2
    exit 1
  fi
  echo "SKIP: $label: $*"
  exit 77
}

# not_applicable LABEL REASON
not_applicable() {
  local label=$1
  shift
  echo "N/A: $label: $*"
  exit 77
}
