"""The one door to a forge: GitHub's REST API (github.com or GitHub Enterprise Server).

``GitHub`` (``github.py``) makes every call over one transport (``http.py``: the token, the
API version, error mapping, Link pagination); ``env.py`` builds one from the environment
(``GITHUB_TOKEN``, ``QV_GITHUB_API_URL``/``GITHUB_API_URL``, ``GITHUB_REPOSITORY`` or the origin
remote); ``reviews.py`` turns pull-request reviews into approvals (``GitHubReviews``,
``judge_reviews``: the one set of review rules); ``source.py`` is the ``github`` review source
made from the environment (``EnvReviews``). Nothing else in qv talks to GitHub. httpx is
imported only when a client is made.
"""

from qv_config.forge.types import PullCommit, PullRequest, Review

__all__ = ["PullCommit", "PullRequest", "Review"]
