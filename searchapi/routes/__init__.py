"""The HTTP routes; each declares its permission through `searchapi.deps`."""
