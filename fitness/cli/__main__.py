"""`python -m fitness.cli`: the `fitness` command."""

import sys

from fitness.cli import main

sys.exit(main())
