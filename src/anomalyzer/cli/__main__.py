"""``python -m anomalyzer.cli``: the same as the ``anomalyzer`` command."""

from anomalyzer.cli import main

main()
