"""Allow ``python -m deployreq``."""

import sys

from deployreq.cli import main

sys.exit(main())
