"""Rule engine and rule catalogue for `virtnet lint`. No I/O: objects in, findings out."""
