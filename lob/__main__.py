import sys

from lob.cli import main

sys.exit(main())
