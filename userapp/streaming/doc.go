// Package streaming is word count for `dist run --exec`: two shell
// scripts, no Go. map.sh splits lines into words with awk; reduce.sh sums
// each word's counts over its sorted input and doubles as the combiner.
//
//	dist run --exec --mapper userapp/streaming/map.sh \
//	    --reducer userapp/streaming/reduce.sh --combiner userapp/streaming/reduce.sh \
//	    --input 'books/*.txt' --output counts --reduces 4 --local 2
//
// A word here is a maximal run of ASCII letters and digits, lower-cased;
// every other byte separates words. On ASCII text that is exactly the
// definition of userapp/wordcount (runs of Unicode letters and digits), so
// both give the same counts; on text with non-ASCII letters they differ
// ("café" is "caf" here). The tests check both facts.
package streaming
