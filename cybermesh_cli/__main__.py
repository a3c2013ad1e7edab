"""Allow ``python -m cybermesh_cli``."""

from cybermesh_cli.cli import main

main()
