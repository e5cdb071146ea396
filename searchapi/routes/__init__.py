"""The JSON half: the API's routes; each declares its permission through `searchapi.deps`.

Thin: each calls a service module of `searchapi` (or `db`), which the pages of `searchapi.pages`
call too. No route module imports another, nor anything of the pages.
"""
