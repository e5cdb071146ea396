"""The FHIR R4 facade's resources and queries (the routes are `searchapi.routes.fhir`)."""
