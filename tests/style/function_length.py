#!/usr/bin/env python3
"""No function in the given trees is longer than LIMIT lines (ctest `style_function_length`).

usage: function_length.py LIMIT DIR...

A function's length is the number of lines between its opening and its closing brace. The C++ is
tokenised (comments, string and character literals, raw strings and preprocessor lines dropped), and
every `{` outside a function body whose statement has a parameter list before it - a function or
constructor definition, a lambda at namespace scope - opens a function; braces inside it are its own.
Class, struct, enum and namespace bodies and brace initialisers are looked into or skipped as what they
are. A file whose braces do not balance is reported (the check would otherwise miss functions).
"""
import pathlib
import re
import sys

TOKEN = re.compile(
    r"""(?P<ws>\s+) | (?P<line_comment>//[^\n]*) | (?P<block_comment>/\*.*?\*/)
      | (?P<raw>R"(?P<delim>[^(\s]*)\(.*?\)(?P=delim)")
      | (?P<str>"(?:\\.|[^"\\\n])*") | (?P<chr>'(?:\\.|[^'\\\n])+')
      | (?P<id>[A-Za-z_]\w*) | (?P<num>\d[\w.']*) | (?P<op>->|::|.)""",
    re.S | re.X,
)
SKIP = {"ws", "line_comment", "block_comment"}
TYPE_KEYWORDS = {"class", "struct", "union", "enum"}


def tokens(text):
    """(kind, text, line) of every significant token; preprocessor lines become blank lines."""
    lines = text.split("\n")
    continued = False
    for i, line in enumerate(lines):
        if continued or line.lstrip().startswith("#"):
            continued = line.rstrip().endswith("\\")
            lines[i] = ""
    text = "\n".join(lines)
    line = 1
    for m in TOKEN.finditer(text):
        kind = m.lastgroup if m.lastgroup != "delim" else "raw"
        if kind not in SKIP:
            yield kind, m.group(), line
        line += m.group().count("\n")


def function_name(words):
    i = words.index("(")
    name = words[i - 1] if i else "?"
    if i >= 3 and words[i - 2] == "::":
        name = words[i - 3] + "::" + name
    elif i >= 4 and words[i - 2] == "~" and words[i - 3] == "::":
        name = words[i - 4] + "::~" + name
    return name


def functions(text):
    """(name, first line, last line, body lines) of every function; raises ValueError on unbalanced braces."""
    found, stack, statement = [], [], []  # stack: "scope" | "opaque" | (name, line)
    for kind, tok, line in tokens(text):
        in_body = any(e != "scope" for e in stack)
        if tok == "{":
            words = [w for _, w, _ in statement]
            if in_body:
                stack.append("opaque")
            elif not words or "namespace" in words or words[0] == "extern":
                stack.append("scope")
            elif "=" in words and "(" not in words[: words.index("=")]:
                stack.append("opaque")  # a brace initialiser (of a variable, or a lambda held by one)
            elif TYPE_KEYWORDS & set(words) and "(" not in words:
                stack.append("scope")
            elif "(" in words:
                stack.append((function_name(words), line))
            else:
                stack.append("opaque")
            statement = []
        elif tok == "}":
            if not stack:
                raise ValueError(f"line {line}: '}}' without '{{'")
            top = stack.pop()
            if isinstance(top, tuple):
                found.append((top[0], top[1], line, line - top[1] - 1))
            statement = []
        elif tok == ";":
            statement = []
        elif tok == ":" and not in_body and statement and statement[-1][1] in ("public", "private", "protected"):
            statement = []
        else:
            statement.append((kind, tok, line))
    if stack:
        raise ValueError(f"{len(stack)} '{{' never closed")
    return found


def main():
    limit, roots = int(sys.argv[1]), sys.argv[2:]
    failures = 0
    longest = (0, "")
    for root in roots:
        for path in sorted(pathlib.Path(root).rglob("*")):
            if path.suffix not in (".c", ".cc", ".cpp", ".h", ".hpp"):
                continue
            try:
                found = functions(path.read_text(encoding="utf-8", errors="replace"))
            except ValueError as e:
                print(f"{path}: cannot check: {e}")
                failures += 1
                continue
            for name, first, last, n in found:
                longest = max(longest, (n, f"{path}:{first} {name}"))
                if n > limit:
                    print(f"{path}:{first}: {name} is {n} lines long (at most {limit}; split it)")
                    failures += 1
    print(f"longest function: {longest[1]} ({longest[0]} lines)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
