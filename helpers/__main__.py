"""`python -m helpers`: download (once) and verify the course's corpora, and say where they are."""
import sys

from . import corpora


def main():
    """Make sure every course corpus is cached and verified; return the exit code."""
    for name in corpora.CORPORA:
        try:
            path = corpora.corpus_path(name)
        except corpora.CorpusError as e:
            print(e, file=sys.stderr)
            return 1
        print(f"{name}: {path} (sha1 verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
