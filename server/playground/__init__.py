"""The GraphQL playground at GET /graphql: GraphiQL served by Taskloom
itself, so it works with no internet access.

GraphiQL's and React's built files are vendored from the npm registry's
releases (`static/vendor/`, with their licences; `.ci/vendor-graphiql`
refreshes them) and served at `/graphql/assets/`. The page runs no inline
script: `static/playground.js` starts GraphiQL, and the example operations
travel in a data attribute, so a Content-Security-Policy of `script-src
'self'` allows the page."""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
ASSETS = "/graphql/assets"

DEFAULT_QUERY = """# Taskloom GraphQL playground. Press the run button and pick an operation.
# Authentication is on: put the header that the first taskloom serve printed,
# {"Authorization": "Bearer ..."}, into the Headers tab below (a token saved
# in the dashboard is filled in for you).
#
# 1. Overview: what can run, and the latest runs.
# 2. TriggerCountdown: starts the countdown example; copy the run id it returns.
# 3. Watch it live: paste this (with the id) into a new tab and run it:
#
#    subscription Watch {
#      taskRunUpdated(id: "PASTE-RUN-ID") {
#        status waiting { until } iterations progress { display } output
#      }
#    }

query Overview {
  taskDefinitions {
    id
    title
    description
    inputSchema
  }
  taskRuns(first: 10) {
    totalCount
    edges {
      node {
        id
        definitionId
        status
        progress { percent display }
        createdAt
        durationMs
        logs(first: 5) { edges { node { level message } } }
      }
    }
  }
}

mutation TriggerCountdown {
  triggerTask(definitionId: "countdown", input: {start: 5, delay_seconds: 1}) {
    id
    status
    runAt
  }
}
"""

_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Taskloom GraphQL playground</title>
    <link rel="stylesheet" href="{assets}/vendor/graphiql.min.css">
    <link rel="stylesheet" href="{assets}/playground.css">
  </head>
  <body>
    <div id="graphiql" data-example-query="{query}">Loading the GraphQL playground…</div>
    <noscript>The playground needs JavaScript; POST queries to /graphql without it.</noscript>
    <script src="{assets}/vendor/react.production.min.js"></script>
    <script src="{assets}/vendor/react-dom.production.min.js"></script>
    <script src="{assets}/vendor/graphiql.min.js"></script>
    <script src="{assets}/playground.js"></script>
  </body>
</html>
"""


def playground_page(example_query: str = DEFAULT_QUERY) -> str:
    """The playground's HTML, `example_query` in the editor of a first visit."""
    return _PAGE.format(assets=ASSETS, query=escape(example_query, quote=True))


def playground_assets() -> StaticFiles:
    return StaticFiles(directory=STATIC)
