"""The HTML half: the practitioners' and managers' GOV.UK pages.

The pages call the same services as the JSON routes of `searchapi.routes` (search, record view,
shields, audit reading, administration), so there is one implementation of each. Here are only
the HTML side's own parts: the route modules (`search`, `record`, `consent`, `shield`, `audit`,
`admin`, `review`), CSRF (`csrf`), rendering (`render`), and the forms' parsing (`*_form`,
`fields`, `form_dates`, `audit_rows`). No route module imports another.
"""
