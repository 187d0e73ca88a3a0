"""The lender side's pages, a module per concern: `branches` (registration, the roster, agents,
staff and areas), `upload`, `api_keys` and `incidents` (the incident register and SOS)."""
