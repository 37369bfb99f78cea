#!/bin/sh
# reduce.sh: the reducer (and combiner) of the streaming word count. It
# reads "word<TAB>count" lines sorted by word and writes one
# "word<TAB>total" line per word. Sorted input means a word's lines are
# adjacent, so only the current word's total is kept in memory.
LC_ALL=C
export LC_ALL
# key = $1 "" makes the key a string: awk would compare "0" and "000" as
# the number 0 and merge them.
exec awk -F '\t' '
{ key = $1 "" }
!seen || key != word {
	if (seen)
		printf "%s\t%.0f\n", word, total
	word = key; total = 0; seen = 1
}
{ total += $2 }
END {
	if (seen)
		printf "%s\t%.0f\n", word, total
}'
