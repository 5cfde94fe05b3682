"""Revisions (issue 17): re-do only the changed ranges of a completed job (`plan`: which ranges, which
clip goes to Sync.so, what it saves; `splice`: the generation put back into the parent's result)."""
