"""Allow ``python -m deployreq``."""

import sys

from deployreq.cli.main import main

sys.exit(main())
