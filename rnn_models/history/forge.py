"""A commit's web link, built from a git remote's URL where the host is a known forge."""

import re

# host -> the path of a commit under the repository's page
FORGES = {"github.com": "/commit/{sha}", "gitlab.com": "/-/commit/{sha}", "codeberg.org": "/commit/{sha}",
          "bitbucket.org": "/commits/{sha}", "git.sr.ht": "/commit/{sha}", "gitea.com": "/commit/{sha}"}

_SCP = re.compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+):(?P<path>[^/].*)$")  # git@github.com:o/r.git
_URL = re.compile(r"^(?:https?|ssh|git)://(?:[^@/]+@)?(?P<host>[\w.-]+)(?::\d+)?/(?P<path>.+)$")


def commit_url_template(remote):
    """``https://host/owner/repo/commit/{sha}`` for a remote URL of a known forge (https, ssh
    or scp-like ``git@host:owner/repo.git``), else None: then a page shows the sha alone."""
    remote = (remote or "").strip()
    match = _URL.match(remote) or _SCP.match(remote)
    if not match:
        return None
    host = match["host"].lower()
    host = host[4:] if host.startswith("www.") else host
    path = match["path"].strip("/").removesuffix(".git").strip("/")
    if host not in FORGES or path.count("/") < 1 or ".." in path:
        return None
    return f"https://{host}/{path}{FORGES[host]}"


def commit_url(template, sha):
    return template.format(sha=sha) if template and sha else None
