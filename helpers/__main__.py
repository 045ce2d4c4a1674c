"""`python -m helpers`: download (once) and verify both corpora, and say where they are."""
import sys

from .data import main

sys.exit(main())
