#!/bin/sh
# A tiny calculator: calc.sh A OP B prints the result (integers; OP is + - x /).
a=$1 op=$2 b=$3
case $op in
  +) echo $((a + b)) ;;
  -) echo $((a - b)) ;;
  x) echo $((a * b)) ;;
  /) [ "$b" -ne 0 ] || { echo "division by zero" >&2; exit 2; }; echo $((a / b)) ;;
  *) echo "unknown operator '$op'" >&2; exit 2 ;;
esac
