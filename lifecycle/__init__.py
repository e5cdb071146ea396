"""A record's life as the law sets it: subject access reports (and, beside them, archiving and
destruction). Works on db/; never on searchapi/, whose access decision the callers apply."""
