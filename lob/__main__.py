import os
import sys

# numpy's OpenBLAS threads spin on a second core while idle and blur timings
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from lob.cli import main  # noqa: E402

sys.exit(main())
