"""Allow ``python -m cybermesh_cli``."""

from cybermesh_cli.entry import main

main()
