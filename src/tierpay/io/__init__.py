"""The file edge: records and state read from CSV and JSON files, text decoding."""
