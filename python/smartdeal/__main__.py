"""`python3 -m smartdeal`: the one-command driver (see smartdeal.cli.driver)."""

import sys

from .cli.driver import main

sys.exit(main())
