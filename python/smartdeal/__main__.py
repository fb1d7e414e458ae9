"""`python3 -m smartdeal`: the one-command driver (see smartdeal.driver)."""

import sys

from .driver import main

sys.exit(main())
