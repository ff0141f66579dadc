from graph_helpers import built_tree, tree  # noqa: F401  (fixtures)
