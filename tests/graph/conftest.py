from graph_helpers import tree  # noqa: F401  (the fixture)
