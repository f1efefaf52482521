"""Stand-in for huggingface_hub (tests only; see ../README.md)."""
from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .utils import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

__version__ = "0.35.3"
__all__ = ["HfApi", "CommitOperationAdd", "hf_hub_download", "GatedRepoError", "RepositoryNotFoundError"]


def _endpoint(endpoint: str | None) -> str:
    return (endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def _request(method: str, url: str, token: str | None, body: bytes | None = None, content_type: str = "application/json"):
    req = urllib.request.Request(url, data=body, method=method)
    if token:
        req.add_header("authorization", f"Bearer {token}")
    if body is not None:
        req.add_header("content-type", content_type)
    try:
        with urllib.request.urlopen(req) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        code = e.headers.get("X-Error-Code", "")
        msg = f"{e.code} {method} {url}: {e.read().decode(errors='replace')}"
        if code == "GatedRepo":
            raise GatedRepoError(msg) from None
        if code == "RepoNotFound":
            raise RepositoryNotFoundError(msg) from None
        raise HfHubHTTPError(msg, status=e.code) from None


@dataclass
class CommitOperationAdd:
    path_in_repo: str
    path_or_fileobj: str


class HfApi:
    def __init__(self, endpoint: str | None = None, token: str | None = None):
        self.endpoint, self.token = _endpoint(endpoint), token or os.environ.get("HF_TOKEN")

    def whoami(self, token: str | None = None) -> dict:
        return json.loads(_request("GET", f"{self.endpoint}/api/whoami-v2", token or self.token))

    def create_repo(self, repo_id: str, *, private: bool = False, exist_ok: bool = False, repo_type: str | None = None,
                    token: str | None = None):
        org, name = repo_id.split("/")
        body = json.dumps({"name": name, "organization": org, "private": private, "type": repo_type or "model"}).encode()
        try:
            _request("POST", f"{self.endpoint}/api/repos/create", token or self.token, body)
        except HfHubHTTPError as e:
            if not (exist_ok and e.status == 409):
                raise
        return f"{self.endpoint}/{repo_id}"

    def create_commit(self, repo_id: str, operations, *, commit_message: str, repo_type: str | None = None,
                      revision: str = "main", token: str | None = None):
        lines = [{"key": "header", "value": {"summary": commit_message}}]
        for op in operations:
            content = Path(op.path_or_fileobj).read_bytes()
            lines.append({"key": "file", "value": {"path": op.path_in_repo, "encoding": "base64",
                                                   "content": base64.b64encode(content).decode()}})
        kind = "datasets" if repo_type == "dataset" else "models"
        body = "\n".join(json.dumps(x) for x in lines).encode()
        return json.loads(_request("POST", f"{self.endpoint}/api/{kind}/{repo_id}/commit/{revision}", token or self.token,
                                   body, "application/x-ndjson"))


def hf_hub_download(repo_id: str, filename: str, *, token: str | None = None, revision: str = "main",
                    endpoint: str | None = None) -> str:
    data = _request("GET", f"{_endpoint(endpoint)}/{repo_id}/resolve/{revision}/{filename}",
                    token or os.environ.get("HF_TOKEN"))
    cache = Path(os.environ.get("HF_HUB_CACHE") or Path.home() / ".cache" / "huggingface" / "hub")
    out = cache / ("models--" + repo_id.replace("/", "--")) / "snapshots" / revision / filename
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return str(out)
