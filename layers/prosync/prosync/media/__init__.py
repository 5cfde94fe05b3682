"""Media inspection (probing durations and streams) with PyAV."""
