"""Families of mined repositories: rows sharing a root commit or a content hash, marked duplicates
of the family's oldest."""

from __future__ import annotations

from collections.abc import Sequence

from miner.ftypes import ManifestRow, RepoStatus


def mark_duplicates(rows: Sequence[ManifestRow]) -> list[ManifestRow]:
    """Mark rows sharing a root commit or a content hash as ``duplicate_of`` the family's oldest."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    by_key: dict[str, str] = {}
    ok = [r for r in rows if r.status == RepoStatus.OK.value]
    for row in ok:
        find(row.repo)
        for key in (f"root:{row.root_commit}" if row.root_commit else "",
                    f"content:{row.content_hash}" if row.content_hash else ""):
            if not key:
                continue
            if key in by_key:
                parent[find(row.repo)] = find(by_key[key])
            else:
                by_key[key] = row.repo
    families: dict[str, list[ManifestRow]] = {}
    for row in ok:
        families.setdefault(find(row.repo), []).append(row)
    leader: dict[str, str] = {}
    for members in families.values():
        first = min(members, key=lambda r: (r.created_at or "9999", r.repo.lower()))
        for member in members:
            leader[member.repo] = first.repo if member.repo != first.repo else ""
    return [r.replace(duplicate_of=leader.get(r.repo, "")) for r in rows]
