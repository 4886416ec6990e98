"""``python -m triage``: the same command line as the ``triage`` console script."""

from triage.service.cli import main

raise SystemExit(main())
