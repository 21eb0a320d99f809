from __future__ import annotations

import logging
import os


def configure_logging() -> None:
    if logging.getLogger().handlers:
        return
    logging.basicConfig(level=os.environ.get("CREDIT_SERVICE_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
