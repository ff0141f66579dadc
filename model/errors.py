"""One exception type for bad user input, so command-line entry points can print
a single clear line (and exit non-zero) instead of a Paddle stack trace."""


class ModelError(Exception):
    """A user-facing error: bad config, checkpoint, dictionary or image."""


def run_main(main):
    """Run ``main()`` and turn a ModelError into one line on stderr + exit 2."""
    import sys
    try:
        return main()
    except ModelError as exc:
        print("error: %s" % exc, file=sys.stderr)
        sys.exit(2)
