"""The queries of the Grafana dashboards and Prometheus rules, found by
walking their parsed JSON or YAML: shared by the checks that read them."""


def strings_under(node, keys, where):
    """(where, value) for every string value under one of `keys` anywhere in
    the parsed document `node`."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in keys and isinstance(value, str):
                    found.append((where, value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(node)
    return found
