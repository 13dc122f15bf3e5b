"""``python -m pbm_engine.cli``: the ``pbm`` command."""

import sys

from pbm_engine.cli import main

sys.exit(main())
