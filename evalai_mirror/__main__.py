from __future__ import annotations

from evalai_mirror.cli import main

raise SystemExit(main())
