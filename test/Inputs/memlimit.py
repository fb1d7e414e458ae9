#!/usr/bin/env python3
"""Runs a command with its address space limited, for tests that a tool
refuses a declared size before allocating it.

    memlimit.py MIB COMMAND [ARGS...]

Exits with the command's status. Under AddressSanitizer (SD_SANITIZE set
in the environment) the limit is left off: ASan reserves terabytes of
shadow address space up front and checks allocations itself.
"""

import os
import resource
import subprocess
import sys

mib, cmd = int(sys.argv[1]), sys.argv[2:]


def limit():
    if not os.environ.get("SD_SANITIZE"):
        resource.setrlimit(resource.RLIMIT_AS, (mib << 20, mib << 20))


sys.exit(subprocess.call(cmd, preexec_fn=limit))
