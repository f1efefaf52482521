""""Did you mean …?" for names a user typed, by edit distance (the rule of lib/util/suggest.ts)."""
from __future__ import annotations


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: fewest single-character insertions, deletions and substitutions."""
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i]
        for j in range(1, len(b) + 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])))
        prev = cur
    return prev[-1]


def closest_name(name: str, candidates, min_distance: int = 2, max_fraction: float = 0.34) -> str | None:
    """The candidate closest to `name` (ignoring case), if it is within
    max(min_distance, floor(len(name) * max_fraction)) edits; ties go to the earlier candidate."""
    best, best_d = None, None
    for c in candidates:
        d = edit_distance(name.lower(), c.lower())
        if best_d is None or d < best_d:
            best, best_d = c, d
    limit = max(min_distance, int(len(name) * max_fraction))
    return best if best_d is not None and best_d <= limit else None
