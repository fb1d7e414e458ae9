"""The one exception type importers raise for models they cannot translate."""


class UnsupportedError(Exception):
    """An op, attribute or shape the importer does not translate.

    Raised before anything is written, so a failed import leaves no partial
    output file; the message names the framework op type and the node, which
    is what a user needs to find the culprit in their model.
    """

    def __init__(self, framework: str, op_type: str, node: str, why: str = ""):
        self.framework = framework
        self.op_type = op_type
        self.node = node
        self.why = why
        if op_type in ("input", "output"):
            text = f"unsupported {framework} graph {op_type} '{node}'"
        else:
            text = f"unsupported {framework} op '{op_type}' (node '{node}')"
        if why:
            text += f": {why}"
        super().__init__(text)
