"""Prints `path<TAB>OK<TAB>ast.dump(...)` or `path<TAB>REJECTED<TAB>reason` for every .py file under ROOTS.

Used by the conformance test: the reference dumps come from the same CPython whose stdlib is parsed.
Each line is one file; ast.dump output never contains a newline (repr escapes them).
"""
import ast
import os
import sys
import warnings

warnings.simplefilter("ignore")

# 3.13 omits empty lists by default; show_empty=True gives exactly 3.12's format.
DUMP_OPTIONS = {"show_empty": True} if sys.version_info >= (3, 13) else {}


def main(roots):
    for root in roots:
        for directory, subdirs, files in os.walk(root):
            subdirs[:] = sorted(d for d in subdirs if d not in ("site-packages", "__pycache__"))
            for name in sorted(files):
                if not name.endswith(".py"):
                    continue
                path = os.path.join(directory, name)
                try:
                    with open(path, "rb") as f:
                        source = f.read()
                    tree = ast.parse(source, filename=path)
                except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError) as e:
                    reason = f"{type(e).__name__}: {e}".replace("\t", " ").replace("\n", " ")
                    print(f"{path}\tREJECTED\t{reason}")
                    continue
                print(f"{path}\tOK\t{ast.dump(tree, **DUMP_OPTIONS)}")


if __name__ == "__main__":
    main(sys.argv[1:] or [os.path.dirname(os.__file__)])
