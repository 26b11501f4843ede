"""The one exception of the ingestion pipeline: a file that cannot be read at all."""


class IngestError(Exception):
    """The file cannot be read at all (encoding, format, empty, zip bomb …); the message is for people."""
