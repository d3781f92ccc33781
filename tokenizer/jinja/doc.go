// Package jinja renders Jinja chat templates the way @huggingface/jinja (the
// engine of transformers.js) does, so that a template from a
// tokenizer_config.json gives the same text in Go as in JavaScript.
//
// It covers the language that chat templates use: text with {{ }} output,
// {% %} statements (if/elif/else, for with loop variables and else, set
// including namespace attributes and block sets, macro, break, continue,
// filter blocks), {# #} comments, whitespace control with - and the
// trim_blocks/lstrip_blocks settings that transformers enables, and
// expressions with literals, lists, dicts, tuples, slices, member and call
// access, filters, tests, arithmetic, comparison, logic and the conditional
// expression.
//
// The behaviour follows @huggingface/jinja rather than Python's Jinja2 where
// the two differ, for example: strip/lstrip/rstrip ignore their argument and
// trim all whitespace, booleans print as true/false, none prints as an empty
// string, == compares like JavaScript's ==, and tojson writes numbers as
// JavaScript does.
package jinja
