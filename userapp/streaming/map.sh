#!/bin/sh
# map.sh: the mapper of the streaming word count. It reads lines on stdin
# and writes "word<TAB>1" for every word. A word is a maximal run of ASCII
# letters and digits, lower-cased; every other byte (punctuation, spaces,
# and any byte of a non-ASCII character) separates words.
#
#   dist run --exec --mapper map.sh --reducer reduce.sh --combiner reduce.sh \
#       --input 'books/*.txt' --output counts --local 2
#
# LC_ALL=C makes awk work on bytes in every locale, so the definition above
# holds whichever awk (mawk, gawk, busybox) the worker has.
LC_ALL=C
export LC_ALL
exec awk '{
	line = tolower($0)
	gsub(/[^a-z0-9]+/, " ", line)
	n = split(line, words, " ")
	for (i = 1; i <= n; i++)
		print words[i] "\t1"
}'
