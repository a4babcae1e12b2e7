#!/usr/bin/env python3
"""Prints the Unicode tables engine/parse_match.c needs to reproduce Python
`re`'s str-pattern classes: the first code point of every run of ten
decimal digits (`\\d` = category Nd; each run is 0..9 in order, which this
script checks), and the `\\s` ranges.

Run with the reference environment's Python (the table in parse_match.c
was made with Python 3.14, Unicode 16.0):
    ../shared/tools/refpy tests/data/gen/unicode_tables.py
"""
import re
import unicodedata

digits = [c for c in range(0x110000) if re.match(r"\d", chr(c))]
zeros = [c for c in digits if unicodedata.digit(chr(c)) == 0]
assert all(unicodedata.digit(chr(z + i)) == i for z in zeros for i in range(10))
assert len(digits) == 10 * len(zeros)
spaces = [c for c in range(0x110000) if re.match(r"\s", chr(c))]
assert [c for c in range(0x110000) if not re.match(r".", chr(c))] == [10]

print("/* Unicode %s: %d digit runs */" % (unicodedata.unidata_version,
                                            len(zeros)))
line = "   "
for z in zeros:
    item = " 0x%05X," % z
    if len(line) + len(item) > 80:
        print(line)
        line = "   "
    line += item
print(line)

runs, start = [], spaces[0]
for a, b in zip(spaces, spaces[1:] + [None]):
    if b != a + 1:
        runs.append((start, a))
        start = b
print("/* whitespace */")
print(", ".join("{ 0x%04X, 0x%04X }" % r for r in runs))
