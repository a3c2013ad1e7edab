"""Allow ``python -m cybermesh_cli``."""

from cybermesh_cli.interrupts import main

main()
