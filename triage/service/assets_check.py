"""``python -m triage.service.assets_check``: exits 1, naming them, when a file that the
dashboard's index.html loads is missing from the installed package. The image build runs it,
so an image without ECharts (or any other asset) is never built."""

from __future__ import annotations

import sys

from triage.service.dashboard import missing_assets


def main() -> int:
    missing = missing_assets()
    if missing:
        print("index.html loads files that are not installed:", *missing, file=sys.stderr)  # noqa: T201
        return 1
    print("index.html: every asset it loads is installed")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
