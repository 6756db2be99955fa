"""The Eber v3 wire format: endpoint paths, form bodies, and what each endpoint's success answer must look like.

Everything here speaks the API's language (shared/reference/eber-api.md); nothing here sends a request or writes the
database. `paths` names the routes, `answers` checks an answer's success shape (delivery is proven by the answer,
never by the status code), `requests` builds a queued effect's form bodies from the counter database at send time.

May import: frontdesk.store and frontdesk.domain (to read the rows an effect describes), sync.errors.
"""
