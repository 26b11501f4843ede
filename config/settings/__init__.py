"""Settings: `base` holds every setting; `dev`, `test` and `production` start from it and change what differs."""


def inherit(namespace: dict, module) -> None:
    """Copy every setting (an UPPER_CASE name) of `module` into `namespace`: a star-import, spelled out."""
    namespace.update({name: value for name, value in vars(module).items() if name.isupper()})
