"""The lender side's pages, a module per concern: `branches` (registration, the roster, agents,
staff and areas), `upload` and `api_keys`. The incident register and SOS are the `incidents`
app's."""
