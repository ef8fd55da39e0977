#!/usr/bin/python3
"""Size limits of the house style (make lint): files under MAX_FILE lines,
function bodies under MAX_FUNC lines, in the given folders.

A function body is what lies between a '{' and a '}' at the start of a line
(the house style's brace placement, enforced by .clang-format).
Prints one line per offender and exits 1 when there is any.
"""
import os
import re
import sys

MAX_FILE = 600
MAX_FUNC = 60
DEF = re.compile(r'^([A-Za-z_][A-Za-z0-9_]*)\(')
NAME = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*\(')


def sources(folders):
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(('.c', '.h')):
                    yield os.path.join(root, name)


def functions(lines):
    """(name, first line, body length) of each function definition: a body
    opens with '{' at the start of a line and closes with '}' at the start
    of a line; its name is the last 'name(' before it."""
    i = 0
    while i < len(lines):
        if not lines[i].startswith('{'):
            i += 1
            continue
        name, line = '?', i
        for j in range(i - 1, max(i - 12, -1), -1):
            m = NAME.search(lines[j])
            if m:
                name, line = m.group(1), j
                if DEF.match(lines[j]) or j == 0 or not lines[j - 1].strip() \
                        or lines[j - 1].rstrip().endswith((';', '}', '*/')):
                    break
        open_line = i
        i += 1
        while i < len(lines) and not lines[i].startswith('}'):
            i += 1
        yield name, line + 1, i - open_line - 1
        i += 1


def main(argv):
    folders = argv[1:] or ['plugin', 'topology', 'cdi']
    bad = 0
    for path in sources(folders):
        with open(path, encoding='utf-8') as f:
            lines = f.read().split('\n')
        if lines and lines[-1] == '':
            lines.pop()
        if len(lines) > MAX_FILE:
            print(f'{path}: {len(lines)} lines (limit {MAX_FILE}): split the file')
            bad += 1
        for name, line, length in functions(lines):
            if length > MAX_FUNC:
                print(f'{path}:{line}: {name}() has {length} lines (limit {MAX_FUNC}): split it')
                bad += 1
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
