"""`matcher serve`: the JSON API and the web page over one opened Matcher.

Importing this package imports FastAPI and Jinja2; the CLI does so only inside `matcher serve`.
"""

from matcher.web.app import create_app

__all__ = ["create_app"]
