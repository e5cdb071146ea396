"""The FastAPI service: routes, the one access layer, errors."""

import sys

# httpx imports its command-line client (click, pygments and rich: some 80 modules) whenever it
# is imported, and the Elasticsearch client imports httpx for a transport this service does not
# use. A None in sys.modules makes that one optional import fail, which httpx expects (its
# `main` then only says how to install the client), so an API worker loads no terminal UI.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
