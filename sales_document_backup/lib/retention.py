"""Grandfather-father-son retention: which backups a destination keeps."""


def _bucket_newest(items, key, count):
    """Ids of the newest item in each of the ``count`` newest periods."""
    kept, seen = set(), []
    for item_id, date in items:
        period = key(date)
        if period in seen:
            continue
        if len(seen) >= count:
            break
        seen.append(period)
        kept.add(item_id)
    return kept


def select_kept(items, daily=7, weekly=4, monthly=12, protected=()):
    """Return the ids to keep among ``items`` ((id, datetime) pairs).

    Keeps the newest backup of each of the last ``daily`` days, ``weekly``
    ISO weeks and ``monthly`` months that have backups, every id in
    ``protected``, and always the newest backup.
    """
    ordered = sorted(items, key=lambda item: (item[1], item[0]), reverse=True)
    if not ordered:
        return set()
    kept = {ordered[0][0]} | set(protected)
    kept |= _bucket_newest(ordered, lambda d: d.date(), max(daily, 0))
    kept |= _bucket_newest(ordered, lambda d: tuple(d.isocalendar())[:2], max(weekly, 0))
    kept |= _bucket_newest(ordered, lambda d: (d.year, d.month), max(monthly, 0))
    return kept & {item_id for item_id, _date in items}
