"""`python -m mbfcare` runs the command line (and, with no arguments, the GUI)."""

from mbfcare.cli import main

raise SystemExit(main())
