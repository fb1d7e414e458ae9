"""The command line: `python3 -m smartdeal` (`driver`) and its report plots."""
