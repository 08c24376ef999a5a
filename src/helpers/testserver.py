"""`python -m helpers.testserver`: the OpenAI-compatible test server (helpers.testing.server)."""

from helpers.testing.server import main

if __name__ == "__main__":
    main()
