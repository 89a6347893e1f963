#!/usr/bin/env python3
"""Lists the public declarations in Sources/ that have no `///` doc comment directly above them.

    python3 tools/check_public_docs.py [--summary] [PATH ...]     # default: Sources/
    python3 tools/check_public_docs.py --list [PATH ...]

A declaration is public when it is marked `public` or `open` (func, var, let, init, subscript, struct, class,
actor, enum, protocol, typealias, associatedtype, macro), or when it sits directly in a `public enum` (its cases),
a `public protocol` (its requirements) or a `public extension` (members not marked otherwise). Attribute lines
(`@inlinable`, `@available(...)`) may stand between the comment and the declaration; a `/** ... */` block counts too.
Extension blocks themselves need no comment. Comments and string literals are blanked before the scan, so braces and
keywords inside them are not read as code.

Prints `file:line: declaration` for each, a count per folder of Sources/, and the total; exits 1 when there is
any, 0 when there is none.

With --list, prints every public declaration, documented or not, as `module: declaration` (the declaration up to
its opening brace, on one line), then per module the number of declarations, of types among them and of those
without a doc comment; exits 0.
"""
import os
import re
import signal
import sys

KEYWORDS = ("func|var|let|init|subscript|struct|class|actor|enum|case|protocol|typealias|associatedtype|"
            "extension|macro")
MODIFIERS = ("public|open|private|fileprivate|internal|package|static|class|final|override|required|convenience|"
             "mutating|nonmutating|indirect|lazy|dynamic|weak|unowned|nonisolated|isolated|distributed|consuming|"
             "borrowing|prefix|postfix|infix")
DECLARATION = re.compile(
    r"^\s*(?:@[\w.]+(?:\([^()]*\))?\s+)*"                        # attributes on the same line
    r"((?:(?:" + MODIFIERS + r")(?:\(\w+\))?\s+)*)"              # modifiers, `private(set)` included
    r"(" + KEYWORDS + r")(?=[\s<(?!:{]|$)")
NOT_PUBLIC = {"private", "fileprivate", "internal", "package"}


def blank_comments_and_strings(source, keep_strings=False):
    """The source with every comment and string literal replaced by spaces (newlines kept), so that lines and
    columns still match; code inside string interpolations is kept. With keep_strings, string literals stay."""
    out = []
    i, n = 0, len(source)
    # Each entry: ("code", open parens) for the file or an interpolation; ("string", hashes, multiline);
    # ("comment", nesting).
    stack = [("code", 0)]

    def blank(text, string=False):
        out.append(text if string and keep_strings else "".join(ch if ch == "\n" else " " for ch in text))

    while i < n:
        mode = stack[-1]
        c = source[i]
        if mode[0] == "code":
            if source.startswith("//", i):
                end = source.find("\n", i)
                end = n if end < 0 else end
                blank(source[i:end])
                i = end
                continue
            if source.startswith("/*", i):
                stack.append(("comment", 1))
                blank("/*")
                i += 2
                continue
            match = re.match(r'(#*)("""|")', source[i:i + 64])
            if match and (match.group(1) or c == '"'):
                hashes = len(match.group(1))
                multiline = match.group(2) == '"""'
                stack.append(("string", hashes, multiline))
                blank(match.group(0), True)
                i += len(match.group(0))
                continue
            if len(stack) > 1:  # inside an interpolation: its closing parenthesis returns to the string
                if c == "(":
                    stack[-1] = ("code", mode[1] + 1)
                elif c == ")":
                    if mode[1] == 0:
                        stack.pop()
                        blank(c, True)
                        i += 1
                        continue
                    stack[-1] = ("code", mode[1] - 1)
            out.append(c)
            i += 1
        elif mode[0] == "comment":
            if source.startswith("/*", i):
                stack[-1] = ("comment", mode[1] + 1)
                blank("/*")
                i += 2
            elif source.startswith("*/", i):
                blank("*/")
                i += 2
                if mode[1] == 1:
                    stack.pop()
                else:
                    stack[-1] = ("comment", mode[1] - 1)
            else:
                blank(c)
                i += 1
        else:  # string
            _, hashes, multiline = mode
            escape = "\\" + "#" * hashes
            close = ('"""' if multiline else '"') + "#" * hashes
            if source.startswith(escape + "(", i):
                blank(escape + "(", True)
                i += len(escape) + 1
                stack.append(("code", 0))
            elif source.startswith(escape, i):
                blank(source[i:i + len(escape) + 1], True)
                i += len(escape) + 1
            elif source.startswith(close, i):
                blank(close, True)
                i += len(close)
                stack.pop()
            elif c == "\n" and not multiline:  # an unterminated literal: stop at the line's end
                stack.pop()
                out.append(c)
                i += 1
            else:
                blank(c, True)
                i += 1
    return "".join(out)


def has_doc_comment(raw_lines, index):
    """Whether a `///` line or the end of a `/** */` block stands directly above line `index` (attribute lines
    between them allowed)."""
    j = index - 1
    while j >= 0 and raw_lines[j].strip().startswith("@"):
        j -= 1
    if j < 0:
        return False
    above = raw_lines[j].strip()
    if above.startswith("///"):
        return True
    if above.endswith("*/"):
        while j >= 0 and "/*" not in raw_lines[j]:
            j -= 1
        return j >= 0 and raw_lines[j].strip().startswith("/**")
    return False


TYPE_KEYWORDS = {"struct", "class", "actor", "enum", "protocol", "typealias"}
CONTINUATIONS = ("->", "throws", "rethrows", "async", "where", ",", "&", ":", "=")


def signature(lines, index, column):
    """The declaration starting at `column` of line `index`, up to its opening brace (or its end), on one line."""
    text, depth = [], 0
    for number in range(index, min(index + 40, len(lines))):
        line = lines[number][column if number == index else 0:]
        for ch in line:
            if ch == "{" and depth == 0:
                return tidy("".join(text))
            depth += (ch in "([") - (ch in ")]")
            text.append(ch)
        text.append(" ")
        following = lines[number + 1].strip() if number + 1 < len(lines) else ""
        if depth <= 0 and not line.rstrip().endswith(CONTINUATIONS) and not following.startswith(CONTINUATIONS):
            break
    return tidy("".join(text))


def tidy(text):
    """`text` with its runs of white space made single spaces, none inside parentheses or brackets."""
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"([(\[]) | ([)\]])", lambda m: m.group(1) or m.group(2), text)


def public_declarations(path):
    """(line number, declaration, keyword, documented) of each public declaration in the file, the declaration up to
    its opening brace on one line."""
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    raw_lines = raw.split("\n")
    code_lines = blank_comments_and_strings(raw).split("\n")
    text_lines = blank_comments_and_strings(raw, keep_strings=True).split("\n")
    found = []
    scopes = []          # per open brace: "public enum", "public protocol", "public extension" or None
    pending = None       # the scope kind the next `{` opens, from a type or extension declaration
    for index, line in enumerate(code_lines):
        match = DECLARATION.match(line)
        if match:
            modifiers = set(re.findall(r"[a-z]+(?=\(|\s|$)", match.group(1))) - {"set"}
            keyword = match.group(2)
            explicit = bool(modifiers & {"public", "open"})
            enclosing = scopes[-1] if scopes else None
            implicit = (not (modifiers & NOT_PUBLIC)) and (
                (enclosing == "public enum" and keyword == "case")
                or (enclosing in ("public protocol", "public extension") and keyword != "case"))
            if keyword == "case" and enclosing != "public enum":
                implicit = explicit = False  # a `case` of a switch, or of a non-public enum
            if (explicit or implicit) and keyword != "extension":
                column = len(line) - len(line.lstrip())
                found.append((index + 1, signature(text_lines, index, column), keyword,
                              has_doc_comment(raw_lines, index)))
            public = explicit or implicit
            if keyword in ("enum", "protocol", "extension") and public:
                pending = f"public {keyword}"
            else:
                pending = None
        for ch in line:
            if ch == "{":
                scopes.append(pending)
                pending = None
            elif ch == "}" and scopes:
                scopes.pop()
    return found


def module(path):
    """The folder of Sources/ (or the top folder) a file belongs to."""
    parts = path.split(os.sep)
    return parts[1] if parts[0] == "Sources" and len(parts) > 2 else parts[0]


def list_declarations(files):
    """Prints every public declaration as `module: declaration`, then the counts per module."""
    counts = {}
    for path in files:
        for _, text, keyword, documented in public_declarations(path):
            name = module(path)
            print(f"{name}: {text}")
            entry = counts.setdefault(name, [0, 0, 0])
            entry[0] += 1
            entry[1] += keyword in TYPE_KEYWORDS
            entry[2] += not documented
    print()
    print(f"{'declarations':>12}  {'types':>5}  {'undocumented':>12}  module")
    for name in sorted(counts):
        print(f"{counts[name][0]:12d}  {counts[name][1]:5d}  {counts[name][2]:12d}  {name}")
    totals = [sum(entry[i] for entry in counts.values()) for i in range(3)]
    print(f"{totals[0]:12d}  {totals[1]:5d}  {totals[2]:12d}  total")
    return 0


def list_undocumented(files, roots, summary):
    """Prints each public declaration without a doc comment and the counts per folder; 1 when there is any."""
    total = 0
    per_folder = {}
    for path in files:
        for line, text, _, documented in public_declarations(path):
            if documented:
                continue
            if not summary:
                print(f"{path}:{line}: {text}")
            parts = path.split(os.sep)
            key = os.sep.join(parts[:2]) if len(parts) > 2 else parts[0]
            per_folder[key] = per_folder.get(key, 0) + 1
            total += 1
    if total:
        if not summary:
            print()
        for key in sorted(per_folder):
            print(f"{per_folder[key]:6d}  {key}")
        print(f"{total} public declarations without a /// doc comment")
        return 1
    print(f"every public declaration in {', '.join(roots)} has a /// doc comment")
    return 0


def main(argv):
    options = {"--summary", "--list"}
    repository = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    roots = [os.path.relpath(os.path.abspath(a), repository) for a in argv if a not in options] or ["Sources"]
    os.chdir(repository)
    files = []
    for root in roots:
        if os.path.isfile(root):
            files.append(root)
        for folder, dirs, names in os.walk(root):
            dirs.sort()
            files += [os.path.join(folder, name) for name in sorted(names) if name.endswith(".swift")]
    if "--list" in argv:
        return list_declarations(files)
    return list_undocumented(files, roots, "--summary" in argv)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into `head`
    sys.exit(main(sys.argv[1:]))
