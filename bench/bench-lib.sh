# bench-lib.sh: what the bench/compare-*.sh scripts share (sourced, never run): --help text, errors, option checks.
#
# A script sets bench_usage_last (the last line of its header comment that --help prints) and
# sources this file; error messages start with the script's name, less ".sh".

bench_script="${BASH_SOURCE[1]}"
bench_name="$(basename "$bench_script" .sh)"

# The script's header comment, lines 2 .. bench_usage_last, without the leading "# ".
usage() {
  sed -n "2,${bench_usage_last}p" "$bench_script" | sed 's/^# \{0,1\}//'
}

die() {
  echo "$bench_name: $*" >&2
  exit 1
}

# need_value "$@" inside the option loop: the option in $1 must have a non-empty value in $2.
need_value() {
  [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"
}

# need_positive NAME:VALUE ...: each VALUE is a positive integer (NAME is its option, less "--").
need_positive() {
  local pair
  for pair in "$@"; do
    [[ "${pair#*:}" =~ ^[1-9][0-9]*$ ]] || die "--${pair%%:*} must be a positive integer, not '${pair#*:}'"
  done
}

# need_counts OPTION VALUE EXAMPLE: VALUE is a comma-separated list of positive integers.
need_counts() {
  [[ "$2" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "$1 takes counts like $3, not '$2'"
}
