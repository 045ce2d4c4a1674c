"""`python -m helpers`: download (once) and verify the course's corpora, and say where they are."""
import sys

from . import data


def main():
    """Make sure every course corpus is cached and verified; return the exit code."""
    for name in data.CORPORA:
        try:
            path = data.corpus_path(name)
        except data.CorpusError as e:
            print(e, file=sys.stderr)
            return 1
        print(f"{name}: {path} (sha1 verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
